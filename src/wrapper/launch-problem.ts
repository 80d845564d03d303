/**
 * @module Messages for a job command that cannot be started, naming the command and its working directory.
 */
import { existsSync } from "node:fs";

/** Why `command` could not start in `cwd`, with what to do about it. */
export function launchProblem(command: readonly string[], cwd: string, error: unknown): string {
  const shown = JSON.stringify(command.join(" "));
  const where = `cannot start job command ${shown} in ${cwd}`;
  // spawn reports a missing working directory as ENOENT of the program.
  if (!existsSync(cwd)) return `${where}: the working directory does not exist`;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const program = JSON.stringify(command[0]);
  switch (code) {
    case "ENOENT":
      return (
        `${where}: no such program ${program} (ENOENT). ` +
        `Use a program on PATH or a path relative to the graph file's directory.`
      );
    case "EACCES":
      return (
        `${where}: permission denied for ${program} (EACCES). ` +
        `Make it executable (chmod +x) or run it through its interpreter, e.g. ["python3", "job.py"].`
      );
    default:
      return `${where}: ${error instanceof Error ? error.message : String(error)}`;
  }
}
