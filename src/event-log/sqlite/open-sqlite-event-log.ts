/**
 * @module Opening (and creating) the SQLite event log file: validate
 * read-only, then switch to WAL, set durability and locking, and migrate;
 * or, for commands that only read, open it read-only.
 */
import { existsSync, mkdirSync, rmdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { EventLogFileError, EventLogStorageError } from "../event-log-error.ts";
import { createLogFile, removeCreatedLog } from "./create-log-file.ts";
import { identityOf, requireWritable, type FileIdentity } from "./file-checks.ts";
import { decide, inspectHeader, inspectLogFile, readFacts } from "./inspect-file.ts";
import { enableUriFilenames, openReadConnection } from "./read-connection.ts";
import { applyMigrations, SCHEMA_VERSION } from "./schema.ts";
import { asFileError, storageProblemOfErrno, thisUser } from "./sqlite-errors.ts";
import { SqliteEventLog, type SqliteEventLogTuning } from "./sqlite-event-log.ts";

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
  /**
   * Open for reading only (commands that only read): the file must exist,
   * nothing is ever written or created (except the -wal and -shm files SQLite
   * itself may leave in a folder this user may write), and it works where
   * this user may only read the file and its folder. Appends throw.
   */
  readonly readOnly?: boolean;
}

/**
 * Opens the event log at `path`, creating the file and its parent directory
 * when absent. Throws EventLogFileError, leaving the file unmodified, when
 * the path holds something that is not a databuild event log (a text file,
 * random bytes, another application's SQLite database), a damaged log, or a
 * log from a newer databuild. Throws EventLogStorageError when the storage is
 * in the way (read-only for this user, a full disk, an I/O error); a log it
 * began to create is then removed again. Safe to call from several processes
 * at once.
 *
 * With `readOnly`, the file must exist and is never written (see
 * read-connection.ts); appends throw.
 */
export async function openSqliteEventLog(path: string, options: SqliteEventLogOptions = {}): Promise<SqliteEventLog> {
  const file = resolve(path);
  enableUriFilenames();
  const tuning = {
    pollIntervalMs: options.pollIntervalMs ?? 100,
    maxBatchEvents: options.maxBatchEvents ?? 1000,
  };
  const busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
  if (options.readOnly) return openForReading(file, tuning, busyTimeoutMs);
  const createdDir = makeFolder(file);
  let created: FileIdentity | undefined;
  try {
    requireWritable(file, "open");
    if (!existsSync(file)) created = createLogFile(file);
    return openForWriting(file, tuning, busyTimeoutMs, options.synchronous);
  } catch (error) {
    const removed = created !== undefined && removeCreatedLog(file, created);
    if (createdDir !== undefined) removeEmptyFolders(dirname(file), createdDir);
    if (removed && error instanceof EventLogStorageError && error.operation !== "create") {
      throw new EventLogStorageError(file, error.problem, "create", error.detail, { cause: error.cause });
    }
    throw error;
  }
}

function openForWriting(
  file: string,
  tuning: SqliteEventLogTuning,
  busyTimeoutMs: number,
  synchronous: "full" | "normal" | undefined,
): SqliteEventLog {
  inspectLogFile(file);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: busyTimeoutMs });
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal") throw new Error(`SQLite refused WAL mode (journal_mode is ${String(mode)})`);
    db.pragma(`synchronous = ${synchronous === "normal" ? "NORMAL" : "FULL"}`);
    // A burst can grow the WAL large; after a checkpoint, shrink it back to this.
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    const conn = db;
    // Another process may have created or migrated the file since the
    // inspection, so decide again under the write lock before changing it.
    let from = 0;
    conn
      .transaction(() => {
        from = decide(file, readFacts(conn)).version;
        applyMigrations(conn, from);
      })
      .immediate();
    if (from > 0 && from < SCHEMA_VERSION) compactAfterMigration(conn);
    const identity = identityOf(file);
    if (identity === undefined) {
      throw new EventLogStorageError(file, "moved", "open", "the file at that path is gone (deleted or moved away)");
    }
    return new SqliteEventLog(db, file, tuning, { identity });
  } catch (error) {
    db?.close();
    throw asFileError(file, error, "open");
  }
}

function openForReading(file: string, tuning: SqliteEventLogTuning, busyTimeoutMs: number): SqliteEventLog {
  const byHeader = inspectHeader(file);
  if (!existsSync(file)) throw new EventLogFileError(file, "unreadable", "there is no file at that path");
  if (byHeader?.version === 0) {
    // An empty file or database: a log with no events yet. Nothing to read, so nothing is opened.
    const empty = new Database(":memory:");
    applyMigrations(empty, 0);
    return new SqliteEventLog(empty, file, tuning, { readOnly: { reopen: undefined, frozen: undefined } });
  }
  const { db, frozen } = openReadConnection(file, busyTimeoutMs);
  return new SqliteEventLog(db, file, tuning, {
    readOnly: { frozen, reopen: () => openReadConnection(file, busyTimeoutMs) },
  });
}

/**
 * A migration that rewrote the events (version 3 did: the old rows' pages
 * become free, two thirds of a long log) leaves the file as large as before;
 * VACUUM gives that space back, once. Best effort: a log that could not be
 * compacted (another writer kept the lock, too little disk for the copy) is
 * just as sound, only larger, and new events reuse its free pages.
 */
function compactAfterMigration(db: Database.Database): void {
  const pages = db.pragma("page_count", { simple: true }) as number;
  const free = db.pragma("freelist_count", { simple: true }) as number;
  if (free * 4 < pages) return;
  try {
    db.exec("VACUUM");
    db.pragma("wal_checkpoint(TRUNCATE)");
  } catch {
    // Left as it is: see above.
  }
}

/** Creates the log's folder (and its parents) when missing; returns the first folder created, if any. */
function makeFolder(file: string): string | undefined {
  try {
    return mkdirSync(dirname(file), { recursive: true });
  } catch (caught) {
    const error = trueMkdirError(dirname(file), caught);
    const problem = storageProblemOfErrno(error);
    const message = (error as Error).message;
    if (problem === "permission-denied" || problem === "read-only") {
      throw new EventLogStorageError(
        file,
        "read-only",
        "create",
        `${thisUser()} may not create its folder (${message})`,
        { cause: error },
      );
    }
    if (problem) throw new EventLogStorageError(file, problem, "create", message, { cause: error });
    throw new EventLogFileError(file, "unreadable", `cannot create its directory: ${message}`, { cause: error });
  }
}

/**
 * A recursive mkdir reports ENOENT where the first folder it had to create
 * was refused (a read-only file system, say); creating that one folder alone
 * gives the real reason.
 */
function trueMkdirError(dir: string, error: unknown): unknown {
  if ((error as NodeJS.ErrnoException).code !== "ENOENT") return error;
  let first = dir;
  while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first);
  try {
    mkdirSync(first);
    rmdirSync(first);
  } catch (direct) {
    return direct;
  }
  return error;
}

/** Removes `dir` and its parents up to `first` (the first one created), each only if empty. */
function removeEmptyFolders(dir: string, first: string): void {
  for (let d = dir; ; d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
    if (d === first || dirname(d) === d) return;
  }
}
