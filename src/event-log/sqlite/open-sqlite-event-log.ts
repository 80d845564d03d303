/**
 * @module Opening (and creating) the SQLite event log file: validate
 * read-only, then switch to WAL, set durability and locking, and migrate.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { EventLogFileError } from "../event-log-error.ts";
import { decide, inspectLogFile, readFacts } from "./inspect-file.ts";
import { applyMigrations } from "./schema.ts";
import { asFileError } from "./sqlite-errors.ts";
import { SqliteEventLog } from "./sqlite-event-log.ts";

export interface SqliteEventLogOptions {
  /**
   * "full" (default): every acknowledged append is on disk, surviving power
   * loss. "normal": acknowledged appends survive a crash of any process but
   * the last ones may be lost on power loss or an OS crash; faster.
   */
  readonly synchronous?: "full" | "normal";
  /** How long a writer waits for another process's write lock before failing. Default 10,000. */
  readonly busyTimeoutMs?: number;
  /** How often `watch` polls for appends by other connections. Default 100. */
  readonly pollIntervalMs?: number;
  /**
   * Commit as soon as this many events are queued, without waiting for the
   * turn to end. Bounds how long one commit holds the event loop (tens of
   * microseconds per event); one fsync per this many events is cheap. Default 1,000.
   */
  readonly maxBatchEvents?: number;
}

/**
 * Opens the event log at `path`, creating the file and its parent directory
 * when absent. Throws EventLogFileError, leaving the file unmodified, when
 * the path holds something that is not a databuild event log (a text file,
 * random bytes, another application's SQLite database), a damaged log, or a
 * log from a newer databuild. Safe to call from several processes at once.
 */
export async function openSqliteEventLog(path: string, options: SqliteEventLogOptions = {}): Promise<SqliteEventLog> {
  const file = resolve(path);
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch (error) {
    throw new EventLogFileError(file, "unreadable", `cannot create its directory: ${(error as Error).message}`, {
      cause: error,
    });
  }
  inspectLogFile(file);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: options.busyTimeoutMs ?? 10_000 });
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal") throw new Error(`SQLite refused WAL mode (journal_mode is ${String(mode)})`);
    db.pragma(`synchronous = ${options.synchronous === "normal" ? "NORMAL" : "FULL"}`);
    // A burst can grow the WAL large; after a checkpoint, shrink it back to this.
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    const conn = db;
    // Another process may have created or migrated the file since the
    // inspection, so decide again under the write lock before changing it.
    conn.transaction(() => applyMigrations(conn, decide(file, readFacts(conn)).version)).immediate();
    return new SqliteEventLog(db, file, {
      pollIntervalMs: options.pollIntervalMs ?? 100,
      maxBatchEvents: options.maxBatchEvents ?? 1000,
    });
  } catch (error) {
    db?.close();
    throw asFileError(file, error);
  }
}
