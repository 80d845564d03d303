/**
 * @module The one table from errors to exit codes (SPEC 3.4): 0 success,
 * 1 the work failed, 2 the command was used wrongly.
 */
import { CommanderError } from "commander";
import { isDatabuildError } from "../core/errors.ts";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The exit code for an error thrown by a command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (isDatabuildError(error)) return error.kind === "usage" ? EXIT_USAGE : EXIT_FAILURE;
  return EXIT_FAILURE;
}
