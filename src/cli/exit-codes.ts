/**
 * @module The one table from errors to exit codes (SPEC 3.4): 0 success,
 * 1 the work failed, 2 the command was used wrongly, 3 the event log could
 * not be read or written (a full disk, a read-only log, no permission, the
 * log deleted or replaced while in use, an I/O error).
 */
import { CommanderError } from "commander";
import { isDatabuildError } from "../core/errors.ts";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_STORAGE = 3;

/** Error codes with an exit code of their own, whatever their kind. */
const EXIT_BY_CODE: Readonly<Record<string, number>> = {
  EVENT_LOG_STORAGE: EXIT_STORAGE, // EventLogStorageError (src/event-log/event-log-error.ts)
  SERVICE_UNAVAILABLE: EXIT_STORAGE, // ServiceUnavailableError (src/cli/remote/remote-errors.ts): --server cannot be reached
};

/** The exit code for an error thrown by a command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (isDatabuildError(error)) return EXIT_BY_CODE[error.code] ?? (error.kind === "usage" ? EXIT_USAGE : EXIT_FAILURE);
  return EXIT_FAILURE;
}
