/**
 * @module The errors thrown when the file (or database) at an event log
 * location cannot be used as one (EventLogFileError: not SQLite, another
 * application's database, corrupted, written by a newer databuild, or no log
 * there at all), and when the storage under it fails (EventLogStorageError:
 * a full disk, read-only, no permission, deleted or replaced while open, an
 * I/O error, a database server that cannot be reached). `path` is the file
 * path, or a database URL without its password.
 */
import { DatabuildError } from "../core/errors.ts";

/** What is wrong with the file. */
export type EventLogFileProblem =
  /** The file does not start with the SQLite header (a text file, random bytes, ...). */
  | "not-sqlite"
  /** An SQLite database that belongs to another application. */
  | "foreign"
  /** An SQLite database (ours or not) that SQLite cannot read. */
  | "corrupt"
  /** A databuild event log with a schema version newer than this databuild knows. */
  | "newer-schema"
  /** The file or its directory cannot be opened or created (permissions, not a directory, ...). */
  | "unreadable"
  /** Another process held the write lock longer than the busy timeout. */
  | "busy"
  /** A database that exists but holds no databuild event log (opened by a command that only reads). */
  | "missing";

/**
 * The file at `path` is not a usable databuild event log. Thrown by opening
 * (and, for "corrupt", by reads and appends that meet damage). A usage error:
 * the caller pointed `--db` at the wrong file or must upgrade databuild. When
 * thrown while opening, the file has not been modified.
 */
export class EventLogFileError extends DatabuildError {
  readonly code = "EVENT_LOG_FILE";
  constructor(
    readonly path: string,
    readonly problem: EventLogFileProblem,
    /** What was found, in words, without a final period ("it starts with the text ..."). */
    readonly detail: string,
    options?: { cause?: unknown; advice?: string },
  ) {
    super(`${path}: ${HEADLINES[problem]}: ${detail}. ${options?.advice ?? ADVICE[problem]}`.trimEnd(), options);
  }

  /** A lock held too long is not the caller's mistake (exit 1); every other problem is the file given (exit 2). */
  get kind(): "usage" | "failure" {
    return this.problem === "busy" ? "failure" : "usage";
  }
}

const HEADLINES: Record<EventLogFileProblem, string> = {
  "not-sqlite": "not a databuild event log",
  foreign: "not a databuild event log",
  corrupt: "corrupted SQLite database",
  "newer-schema": "event log written by a newer databuild",
  unreadable: "cannot open the event log",
  busy: "the event log stayed locked by another process",
  missing: "no build event log there",
};

const ADVICE: Record<EventLogFileProblem, string> = {
  "not-sqlite": "databuild left it untouched; pass another --db path or move the file away.",
  foreign: "databuild left it untouched; pass another --db path or move the file away.",
  corrupt: "Restore it from a backup, or move it away to start a new log.",
  "newer-schema": "Upgrade databuild to use this log.",
  unreadable: "",
  busy: "Another databuild process (or a paused one) holds its write lock; retry, or find the process with `fuser`.",
  missing: "Nothing has been built with this log yet, or --db names another database.",
};

/** What went wrong with the storage under the event log. */
export type EventLogStorageProblem =
  /** No space left on the file system holding the log (SQLITE_FULL, ENOSPC). */
  | "disk-full"
  /** The log may not be written: the file, its folder or the file system is read-only for this user. */
  | "read-only"
  /** The log may not be read: this user lacks read (or search) permission. */
  | "permission-denied"
  /** The file was deleted, or the path now holds another file, while the log was open. */
  | "moved"
  /** The operating system reported an I/O error (SQLITE_IOERR, EIO). */
  | "io-error"
  /**
   * The database server cannot be reached, or went away while in use (a
   * refused connection, an unknown host, a server shutting down or
   * restarting, a dropped connection).
   */
  | "unavailable";

/** What the failed operation was doing, which decides what the message says happened as a result. */
export type EventLogOperation = "create" | "open" | "read" | "append";

/**
 * The event log's storage failed: the disk is full, the log is read-only or
 * unreadable for this user, it was deleted or replaced while open, or an I/O
 * error. Not the caller's input and not the work: the CLI gives it an exit
 * code of its own (3). Whatever was committed before stays readable; nothing
 * of the failed operation is in the log.
 */
export class EventLogStorageError extends DatabuildError {
  readonly code = "EVENT_LOG_STORAGE";
  readonly kind = "failure";
  constructor(
    readonly path: string,
    readonly problem: EventLogStorageProblem,
    readonly operation: EventLogOperation,
    /** What was found, in words, without a final period ("this user (nobody) may not write it"). */
    readonly detail: string,
    options?: { cause?: unknown; advice?: string },
  ) {
    const advice = options?.advice ?? STORAGE_ADVICE[problem];
    super(`${path}: ${STORAGE_HEADLINES[problem]}: ${detail}. ${consequence(problem, operation)}${advice}`, options);
  }
}

const STORAGE_HEADLINES: Record<EventLogStorageProblem, string> = {
  "disk-full": "the event log could not be written: the disk is full",
  "read-only": "the event log is read-only",
  "permission-denied": "the event log cannot be read",
  moved: "the event log was deleted or replaced while in use",
  "io-error": "the event log could not be read or written: I/O error",
  unavailable: "the event log's database server is unavailable",
};

function consequence(problem: EventLogStorageProblem, operation: EventLogOperation): string {
  if (operation === "create") return "No event log was created (databuild removed what it had begun to write). ";
  if (operation === "append" && problem === "unavailable")
    return "Everything acknowledged before is in the log; the events being recorded when the server went away may or may not have been committed, and nothing after them was, so the command stopped. ";
  if (operation === "append" && problem === "moved")
    return "What was recorded after that is not in the file at that path, and nothing more was recorded: the command stopped. ";
  if (operation === "append")
    return "Everything recorded before is intact and readable; from here on nothing was recorded, so the command stopped. ";
  return "";
}

const STORAGE_ADVICE: Record<EventLogStorageProblem, string> = {
  "disk-full": "Free space on that file system (see `df -h`), then run the command again.",
  "read-only":
    "Commands that only read it (status, events, builds, explain, logs, build --dry-run) still work; to build or invalidate, run as a user who may write the file and its folder, or pass --db PATH for another log.",
  "permission-denied": "Ask for read access to the file and its folder, or pass --db PATH for another log.",
  moved: "Put the log back at that path (or remove what is there to start a new log), then run the command again.",
  "io-error":
    "Check the disk and the file system (dmesg, the mount); if the error stays, restore the log from a backup.",
  unavailable:
    "Check that the PostgreSQL server is running and reachable from here, then run the command again: a build takes up the work where this one stopped.",
};
