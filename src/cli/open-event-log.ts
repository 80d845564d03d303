/**
 * @module Chooses the event log backend for a location: a file path is the
 * embedded SQLite log (a postgres:// URL will select PostgreSQL).
 */
import { existsSync } from "node:fs";
import type { EventLog } from "../core/event-log.ts";
import { UsageError } from "../core/errors.ts";
import { openSqliteEventLog } from "../event-log/index.ts";

export async function openEventLog(location: string, options: { mustExist?: boolean } = {}): Promise<EventLog> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new UsageError(
      `unsupported event log URL ${JSON.stringify(location)}: only SQLite file paths are supported so far`,
    );
  }
  if (options.mustExist && !existsSync(location)) {
    throw new NoEventLogError(location);
  }
  return openSqliteEventLog(location);
}

/** A read command found no log: nothing was built yet, or --db is wrong. */
export class NoEventLogError extends UsageError {
  override readonly code = "NO_EVENT_LOG";
  constructor(readonly location: string) {
    super(`no build event log at ${location}: nothing has been built with this graph yet (or pass --db PATH)`);
  }
}
