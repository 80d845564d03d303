/**
 * @module Turns SQLite's and the file system's errors about the log's file
 * into EventLogFileError (the file is not a usable log) or
 * EventLogStorageError (the storage under it failed), each naming the path
 * and saying what is wrong.
 */
import { statfsSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname } from "node:path";
import {
  EventLogFileError,
  EventLogStorageError,
  type EventLogFileProblem,
  type EventLogOperation,
  type EventLogStorageProblem,
} from "../event-log-error.ts";

type Problem = { file: EventLogFileProblem } | { storage: EventLogStorageProblem };

/** Primary result codes (extended codes such as SQLITE_IOERR_WRITE share their primary's meaning), most specific first. */
const PROBLEM_BY_CODE: [code: string, problem: Problem][] = [
  ["SQLITE_READONLY_DBMOVED", { storage: "moved" }],
  ["SQLITE_CORRUPT", { file: "corrupt" }],
  ["SQLITE_NOTADB", { file: "corrupt" }],
  ["SQLITE_FULL", { storage: "disk-full" }],
  ["SQLITE_IOERR", { storage: "io-error" }],
  ["SQLITE_READONLY", { storage: "read-only" }],
  ["SQLITE_PERM", { storage: "read-only" }],
  ["SQLITE_CANTOPEN", { file: "unreadable" }],
  ["SQLITE_AUTH", { file: "unreadable" }],
  ["SQLITE_BUSY", { file: "busy" }],
];

/** What an SQLite error says about the file or its storage, if it is about them. */
function problemOf(error: unknown): Problem | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  return PROBLEM_BY_CODE.find(([c]) => code === c || code.startsWith(`${c}_`))?.[1];
}

/** The file problem `error` reveals, if it is an SQLite error about the file itself. */
export function fileProblemOf(error: unknown): EventLogFileProblem | undefined {
  const problem = problemOf(error);
  return problem && "file" in problem ? problem.file : undefined;
}

/** The storage problem an errno code (ENOSPC, EROFS, ...) names, if it is one. */
export function storageProblemOfErrno(error: unknown): EventLogStorageProblem | undefined {
  switch ((error as NodeJS.ErrnoException | null)?.code) {
    case "ENOSPC":
    case "EDQUOT":
      return "disk-full";
    case "EROFS":
      return "read-only";
    case "EACCES":
    case "EPERM":
      return "permission-denied";
    case "EIO":
      return "io-error";
    default:
      return undefined;
  }
}

/**
 * `error` as an EventLogFileError or EventLogStorageError about `path` when it
 * is one, else `error` unchanged. `operation` says what was under way, for
 * the message.
 */
export function asFileError(path: string, error: unknown, operation: EventLogOperation = "read"): unknown {
  if (error instanceof EventLogFileError || error instanceof EventLogStorageError) return error;
  const problem = problemOf(error);
  if (!problem) return error;
  if ("file" in problem) return new EventLogFileError(path, problem.file, (error as Error).message, { cause: error });
  let detail = `${(error as Error).message} (${(error as { code: string }).code})`;
  let storage = problem.storage;
  // SQLite reports a full disk met while growing the -shm or writing as an I/O error.
  const free = storage === "io-error" ? freeBytes(dirname(path)) : undefined;
  if (free !== undefined && free < NEARLY_FULL_BYTES) {
    storage = "disk-full";
    detail = `${detail}, with ${Math.floor(free / 1024)} KiB left on that file system`;
  }
  return new EventLogStorageError(path, storage, operation, detail, { cause: error });
}

/** Below this much free space, an I/O error is taken for a full disk. */
const NEARLY_FULL_BYTES = 1024 * 1024;

function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/** "this user (nobody, uid 65534)", for messages about permissions. */
export function thisUser(): string {
  const uid = process.getuid?.();
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry for this uid (containers): the uid alone says it.
  }
  if (name && uid !== undefined) return `this user (${name}, uid ${uid})`;
  return name ? `this user (${name})` : uid !== undefined ? `this user (uid ${uid})` : "this user";
}
