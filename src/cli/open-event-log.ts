/**
 * @module Chooses the event log backend for a location: a file path is the
 * embedded SQLite log (a postgres:// URL will select PostgreSQL).
 */
import { statSync } from "node:fs";
import type { EventLog } from "../core/event-log.ts";
import { UsageError } from "../core/errors.ts";
import { EventLogStorageError, MemoryEventLog, openSqliteEventLog } from "../event-log/index.ts";

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
}

export async function openEventLog(location: string, options: OpenEventLogOptions = {}): Promise<EventLog> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new UsageError(
      `unsupported event log URL ${JSON.stringify(location)}: only SQLite file paths are supported so far`,
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

/** A read command found no log: nothing was built yet, or --db is wrong. */
export class NoEventLogError extends UsageError {
  override readonly code = "NO_EVENT_LOG";
  constructor(readonly location: string) {
    super(`no build event log at ${location}: nothing has been built with this graph yet (or pass --db PATH)`);
  }
}
