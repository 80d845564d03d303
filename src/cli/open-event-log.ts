/**
 * @module Chooses the event log backend for a location: a postgres:// or
 * postgresql:// URL is a PostgreSQL database, a file path the embedded
 * SQLite log.
 */
import { statSync } from "node:fs";
import type { EventLog } from "../core/event-log.ts";
import { UsageError } from "../core/errors.ts";
import {
  EventLogFileError,
  EventLogStorageError,
  isPostgresUrl,
  MemoryEventLog,
  openPostgresEventLog,
  openSqliteEventLog,
  shownUrl,
} from "../event-log/index.ts";

export interface OpenEventLogOptions {
  /**
   * A command that only reads passes it, so a typo in --db is an error
   * rather than a new empty log.
   */
  readonly mustExist?: boolean;
  /**
   * A command that only reads passes it: the log is opened read-only and
   * never created or modified, so it works for a user who may only read the
   * log and its folder. Without `mustExist`, a missing log reads as empty.
   */
  readonly readOnly?: boolean;
  /** PostgreSQL: most connections the log's pool opens (a service running many builds at once needs more). */
  readonly maxConnections?: number;
}

export async function openEventLog(location: string, options: OpenEventLogOptions = {}): Promise<EventLog> {
  if (isPostgresUrl(location)) return openPostgres(location, options);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new UsageError(
      `unsupported event log URL ${JSON.stringify(shownUrl(location))}: give a postgres:// (or postgresql://) URL or an SQLite file path`,
    );
  }
  if (options.mustExist || options.readOnly) {
    let exists: boolean;
    try {
      exists = statSync(location, { throwIfNoEntry: false }) !== undefined;
    } catch (error) {
      // A folder on the way this user may not enter: the log may well be there.
      throw new EventLogStorageError(location, "permission-denied", "open", (error as Error).message, {
        cause: error,
      });
    }
    if (!exists && options.mustExist) throw new NoEventLogError(location);
    if (!exists) return new MemoryEventLog();
  }
  return openSqliteEventLog(location, { readOnly: options.readOnly ?? false });
}

/** A database that has no log yet is "no event log" to a command that only reads, as a missing file is. */
async function openPostgres(url: string, options: OpenEventLogOptions): Promise<EventLog> {
  try {
    return await openPostgresEventLog(url, {
      readOnly: options.readOnly ?? false,
      mustExist: options.mustExist ?? false,
      maxConnections: options.maxConnections,
    });
  } catch (error) {
    if (error instanceof EventLogFileError && error.problem === "missing") throw new NoEventLogError(error.path);
    throw error;
  }
}

/** A read command found no log: nothing was built yet, or --db is wrong. */
export class NoEventLogError extends UsageError {
  override readonly code = "NO_EVENT_LOG";
  constructor(readonly location: string) {
    super(`no build event log at ${location}: nothing has been built with this graph yet (or pass --db PATH or URL)`);
  }
}
