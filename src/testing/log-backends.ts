/**
 * @module Test support: the event log backends that tests of many processes
 * (concurrent builds, crashes, takeovers) run on, each able to make a fresh
 * log location and open it. A test written over LOG_BACKENDS runs on SQLite
 * and on PostgreSQL (the run's server: fresh-database.ts) alike.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { EventLog } from "../core/event-log.ts";
import { EventLogFileError, openPostgresEventLog, openSqliteEventLog } from "../event-log/index.ts";
import { freshDatabase } from "./fresh-database.ts";

export interface LogBackend {
  readonly name: "sqlite" | "postgres";
  /**
   * The location of a fresh, empty log, as `--db` or $DATABUILD_DB take it:
   * `file` (default: the CLI's default path) under `dir`, or a new database.
   */
  freshLocation(dir: string, file?: string): Promise<string>;
  /** Opens the log at `location` (created if absent, unless `readOnly`). */
  open(
    location: string,
    options?: { readonly pollIntervalMs?: number; readonly readOnly?: boolean },
  ): Promise<EventLog>;
  /** True once a log was created there (by a build, say). */
  exists(location: string): Promise<boolean>;
}

export const SQLITE_BACKEND: LogBackend = {
  name: "sqlite",
  freshLocation: async (dir, file = join(".databuild", "databuild.db")) => join(dir, file),
  open: (location, options) => openSqliteEventLog(location, options),
  exists: async (location) => existsSync(location),
};

export const POSTGRES_BACKEND: LogBackend = {
  name: "postgres",
  freshLocation: async () => (await freshDatabase()).url,
  open: (location, options) => openPostgresEventLog(location, { pollIntervalMs: 20, ...options }),
  exists: async (location) => {
    try {
      await (await openPostgresEventLog(location, { readOnly: true, mustExist: true, listen: false })).close();
      return true;
    } catch (error) {
      if (error instanceof EventLogFileError && error.problem === "missing") return false;
      throw error;
    }
  },
};

export const LOG_BACKENDS: readonly LogBackend[] = [SQLITE_BACKEND, POSTGRES_BACKEND];
