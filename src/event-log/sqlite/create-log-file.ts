/**
 * @module Creating a new event log file all at once: it is built beside its
 * final path under a temporary name, complete (schema, application_id,
 * version, WAL mode), and only then linked into place. No process ever sees
 * a half-made log, and when anything fails (a full disk, a folder that may
 * not be written) the temporary files are removed and nothing is left at
 * the path: no 0-byte database.
 */
import { randomBytes } from "node:crypto";
import { closeSync, constants, copyFileSync, fsyncSync, linkSync, openSync, rmSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { EventLogStorageError } from "../event-log-error.ts";
import { identityOf, sizeOf, type FileIdentity } from "./file-checks.ts";
import { applyMigrations } from "./schema.ts";
import { asFileError, storageProblemOfErrno } from "./sqlite-errors.ts";

/** Link failures that mean "this file system has no hard links", not "something is wrong". */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV", "EMLINK"]);

/**
 * Creates the log at `file` if there is still nothing there. Returns the
 * identity of the file this call put there, or undefined when another
 * process created one first (then open that one). Throws
 * EventLogStorageError (operation "create") with nothing left behind.
 */
export function createLogFile(file: string): FileIdentity | undefined {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.new`;
  try {
    const db = new Database(temp);
    try {
      // A rollback journal first: each step writes the main file and says at
      // once if it could not. WAL mode is then a persistent flag in the header.
      db.transaction(() => applyMigrations(db, 0)).immediate();
      const mode = db.pragma("journal_mode = WAL", { simple: true });
      if (mode !== "wal") throw new Error(`SQLite refused WAL mode (journal_mode is ${String(mode)})`);
    } finally {
      db.close();
    }
    // Closing checkpoints and removes the -wal; one left means that failed.
    if (sizeOf(`${temp}-wal`) > 0) {
      throw new EventLogStorageError(file, "io-error", "create", "SQLite could not finish writing the new file");
    }
    if (!place(temp, file)) return undefined;
    syncFolder(dirname(file));
    return identityOf(file);
  } catch (error) {
    throw creationError(file, error);
  } finally {
    for (const f of [temp, `${temp}-journal`, `${temp}-wal`, `${temp}-shm`]) rmSync(f, { force: true });
  }
}

/** Puts `temp` at `file` unless something is there already (false then). */
function place(temp: string, file: string): boolean {
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    if (code === "EEXIST") return false;
    if (!NO_HARD_LINKS.has(code)) throw error;
  }
  try {
    copyFileSync(temp, file, constants.COPYFILE_EXCL);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    rmSync(file, { force: true }); // created exclusively by this call, so ours to remove
    throw error;
  }
}

/** Makes the new directory entry durable (power loss), as SQLite does for its own files. */
function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some file systems cannot fsync a directory; the file itself is synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Removes the log this process created at `file` (`created`), after opening
 * it failed: only while it is still that file and no other process has
 * begun to use it (no -wal with content beside it). Returns whether it did.
 */
export function removeCreatedLog(file: string, created: FileIdentity): boolean {
  const now = identityOf(file);
  if (!now || now.dev !== created.dev || now.ino !== created.ino) return false;
  if (sizeOf(`${file}-wal`) > 0) return false;
  try {
    unlinkSync(file);
  } catch {
    return false;
  }
  for (const f of [`${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  return true;
}

function creationError(file: string, error: unknown): unknown {
  const mapped = asFileError(file, error, "create");
  if (mapped !== error) return mapped;
  const problem = storageProblemOfErrno(error);
  if (!problem) return error;
  const message = (error as Error).message;
  return new EventLogStorageError(file, problem === "permission-denied" ? "read-only" : problem, "create", message, {
    cause: error,
  });
}
