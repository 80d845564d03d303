/**
 * @module The error thrown when the file at an event log path cannot be used
 * as one: not SQLite, another application's database, corrupted, or written
 * by a newer databuild.
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
  | "busy";

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
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${HEADLINES[problem]}: ${detail}. ${ADVICE[problem]}`.trimEnd(), options);
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
};

const ADVICE: Record<EventLogFileProblem, string> = {
  "not-sqlite": "databuild left it untouched; pass another --db path or move the file away.",
  foreign: "databuild left it untouched; pass another --db path or move the file away.",
  corrupt: "Restore it from a backup, or move it away to start a new log.",
  "newer-schema": "Upgrade databuild to use this log.",
  unreadable: "",
  busy: "Another databuild process (or a paused one) holds its write lock; retry, or find the process with `fuser`.",
};
