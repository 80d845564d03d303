/**
 * @module Plain file-system checks around the log's file, made before SQLite
 * is asked (so the message can say exactly what is in the way) and while it
 * is open (so a log deleted or replaced underneath is noticed).
 */
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { EventLogStorageError, type EventLogOperation } from "../event-log-error.ts";
import { thisUser } from "./sqlite-errors.ts";

const READ_ONLY_FILE_SYSTEM = "it is on a read-only file system";

/** Which file a path named when it was opened: device and inode. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

/** The identity of the file at `path` now, or undefined when there is none. */
export function identityOf(path: string): FileIdentity | undefined {
  try {
    const s = statSync(path, { throwIfNoEntry: false });
    return s && { dev: s.dev, ino: s.ino };
  } catch {
    return undefined;
  }
}

/**
 * Throws EventLogStorageError ("moved") when `path` no longer names the file
 * opened as `opened`: it was deleted, or another file took its place (a
 * restore, a `mv` over it). Writing on would record into a file nobody can
 * read any more. One stat: microseconds, next to a commit's fsync.
 */
export function checkStillThere(path: string, opened: FileIdentity, operation: EventLogOperation): void {
  let now: FileIdentity | undefined;
  try {
    const s = statSync(path, { throwIfNoEntry: false });
    now = s && { dev: s.dev, ino: s.ino };
  } catch {
    return; // cannot tell (a permission change on the folder): SQLite will say if it matters
  }
  if (now === undefined) {
    throw new EventLogStorageError(path, "moved", operation, "the file at that path is gone (deleted or moved away)");
  }
  if (now.dev !== opened.dev || now.ino !== opened.ino) {
    throw new EventLogStorageError(
      path,
      "moved",
      operation,
      `the path now holds another file (device ${now.dev}, inode ${now.ino}; the log opened was device ${opened.dev}, inode ${opened.ino})`,
    );
  }
}

function writeDenied(path: string): string | undefined {
  try {
    accessSync(path, constants.W_OK);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? "EACCES";
  }
}

/**
 * Why this process cannot write the log at `file` (which may not exist yet),
 * in words, or undefined when nothing is in the way. SQLite needs to write
 * the file and to create its -wal and -shm files beside it, so a folder this
 * user may not write is in the way too, unless both already exist writable.
 */
export function writeBlocker(file: string): string | undefined {
  const dir = dirname(file);
  const fileDenied = existsSync(file) ? writeDenied(file) : undefined;
  if (fileDenied === "EROFS") return READ_ONLY_FILE_SYSTEM;
  if (fileDenied) return `${thisUser()} may not write it`;
  const dirDenied = writeDenied(dir);
  if (dirDenied === "EROFS") return READ_ONLY_FILE_SYSTEM;
  const companions = [`${file}-wal`, `${file}-shm`];
  if (dirDenied && !companions.every((c) => existsSync(c) && writeDenied(c) === undefined)) {
    return `${thisUser()} may not write its folder ${dir} (SQLite keeps the log's -wal and -shm files beside it)`;
  }
  return undefined;
}

/** Throws EventLogStorageError ("read-only") when `writeBlocker` finds something in the way. */
export function requireWritable(file: string, operation: EventLogOperation): void {
  const blocker = writeBlocker(file);
  if (blocker === undefined) return;
  const advice =
    blocker === READ_ONLY_FILE_SYSTEM
      ? "Commands that only read it (status, events, builds, explain, logs, build --dry-run) still work; to build or invalidate, use a copy on a writable file system, or pass --db PATH for another log."
      : undefined;
  throw new EventLogStorageError(file, "read-only", operation, blocker, { advice });
}

/** The size of `path`, 0 when absent. */
export function sizeOf(path: string): number {
  try {
    return statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  } catch {
    return 0;
  }
}
