/**
 * @module Turns SQLite's errors about a damaged or inaccessible file into
 * EventLogFileError, which names the path and says what is wrong.
 */
import { EventLogFileError, type EventLogFileProblem } from "../event-log-error.ts";

const PROBLEM_BY_CODE: Record<string, EventLogFileProblem> = {
  SQLITE_CORRUPT: "corrupt",
  SQLITE_NOTADB: "corrupt",
  SQLITE_CANTOPEN: "unreadable",
  SQLITE_PERM: "unreadable",
  SQLITE_READONLY: "unreadable",
  SQLITE_AUTH: "unreadable",
  SQLITE_BUSY: "busy",
};

/** The file problem `error` reveals, if it is an SQLite error about the file itself. */
export function fileProblemOf(error: unknown): EventLogFileProblem | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  // Extended codes (SQLITE_CORRUPT_INDEX, SQLITE_READONLY_DBMOVED, ...) share their primary's meaning.
  const primary = Object.keys(PROBLEM_BY_CODE).find((c) => code === c || code.startsWith(`${c}_`));
  return primary === undefined ? undefined : PROBLEM_BY_CODE[primary];
}

/** `error` as an EventLogFileError about `path` when it is one, else `error` unchanged. */
export function asFileError(path: string, error: unknown): unknown {
  if (error instanceof EventLogFileError) return error;
  const problem = fileProblemOf(error);
  if (!problem) return error;
  return new EventLogFileError(path, problem, (error as Error).message, { cause: error });
}
