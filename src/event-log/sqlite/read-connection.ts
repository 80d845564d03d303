/**
 * @module Read-only connections to the event log, for commands that only
 * read it: they never write the file, and work for a user who may read but
 * not write the log and its folder, and on a read-only file system.
 *
 * A WAL database is read through its -wal and -shm files. SQLite can read
 * it read-only when both exist and are readable (a build is running, or one
 * was cut off), or when it may create them (a folder this user may write:
 * SQLite then leaves them beside the log, empty; the next writer to close
 * removes them). When neither holds (the folder is read-only and no build
 * left a -wal), every committed event is in the main file, because the last
 * connection to close copied the -wal into it and removed it. The log is
 * then read as an immutable (frozen) read (SQLite's `immutable=1` URI parameter):
 * no locks, no -wal, no -shm, nothing created. A build that starts
 * meanwhile creates a -wal; each read checks for one (or for the file having
 * changed) and then opens the log anew, so `events --follow` still follows.
 */
import { statSync } from "node:fs";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { EventLogStorageError } from "../event-log-error.ts";
import { sizeOf } from "./file-checks.ts";
import { inspectConnection } from "./inspect-file.ts";
import { asFileError, thisUser } from "./sqlite-errors.ts";

/** An open read-only connection; `frozen` is set when it reads an immutable (frozen) read. */
export interface ReadConnection {
  readonly db: Database.Database;
  readonly frozen: FrozenStamp | undefined;
}

/** What the main file looked like when a frozen read was opened. */
export interface FrozenStamp {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** Opens `file` (an existing databuild log, absolute path) for reading and checks it as opening for writing would. */
export function openReadConnection(file: string, busyTimeoutMs: number): ReadConnection {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
    // The first read is where SQLite opens (or creates) the -wal and -shm files.
    inspectConnection(file, db);
    return { db, frozen: undefined };
  } catch (error) {
    db?.close();
    if (!cannotSetUpWal(error)) throw asFileError(file, error, "read");
    if (sizeOf(`${file}-wal`) > 0) {
      throw new EventLogStorageError(
        file,
        "permission-denied",
        "read",
        `its -wal file holds events not yet copied into it, and SQLite needs a -shm file beside it, which ${thisUser()} may not create (${(error as Error).message})`,
        { cause: error },
      );
    }
  }
  return openFrozen(file);
}

/** True when a frozen read opened at `stamp` may be out of date: a writer has the log open, or the file changed. */
export function frozenReadIsStale(file: string, stamp: FrozenStamp): boolean {
  const now = stampOf(file);
  return (
    now === undefined ||
    now.ino !== stamp.ino ||
    now.size !== stamp.size ||
    now.mtimeMs !== stamp.mtimeMs ||
    sizeOf(`${file}-wal`) > 0
  );
}

function openFrozen(file: string): ReadConnection {
  const stamp = stampOf(file);
  let db: Database.Database | undefined;
  try {
    db = new Database(`${pathToFileURL(file).href}?immutable=1`, { readonly: true, fileMustExist: true });
    inspectConnection(file, db);
    return { db, frozen: stamp };
  } catch (error) {
    db?.close();
    throw asFileError(file, error, "read");
  }
}

/** SQLite could not open or create the -wal or -shm file (a read-only folder or file system). */
function cannotSetUpWal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_CANTOPEN"));
}

function stampOf(file: string): FrozenStamp | undefined {
  try {
    const s = statSync(file, { throwIfNoEntry: false });
    return s && { ino: s.ino, size: s.size, mtimeMs: s.mtimeMs };
  } catch {
    return undefined;
  }
}

let uriChecked = false;

/**
 * better-sqlite3 takes `file:` URIs (needed for `immutable=1`) only when
 * $SQLITE_USE_URI is 1 as its native addon loads, which is at the first
 * `new Database` of the process: openSqliteEventLog calls this first. The
 * variable is set for that moment only (child processes never see it). If
 * a connection was opened before, URIs stay off and opening a frozen read
 * fails with "unable to open database file", which is reported as such.
 * Paths databuild opens are absolute, so none is mistaken for a URI.
 */
export function enableUriFilenames(): void {
  if (uriChecked) return;
  uriChecked = true;
  const before = process.env.SQLITE_USE_URI;
  process.env.SQLITE_USE_URI = "1";
  try {
    new Database(":memory:").close();
  } finally {
    if (before === undefined) delete process.env.SQLITE_USE_URI;
    else process.env.SQLITE_USE_URI = before;
  }
}
