/**
 * @module `databuild wrapper`: the exec wrapper as a standalone process. It
 * reads one JobRunRequest (proto3 JSON) on stdin and writes only JSON-lines
 * BuildEvents to stdout, so a job can run in a container or on another host
 * with no network: whoever started it only reads its stdout.
 */
import type { Command } from "commander";
import { runWrapperCommand } from "../../wrapper/index.ts";
import type { CommandContext } from "../context.ts";

export function registerWrapper(
  program: Command,
  context: () => CommandContext,
  setExitCode: (code: number) => void,
): void {
  program
    .command("wrapper")
    .description("run one job from a JobRunRequest on stdin; print its BuildEvents as JSON lines on stdout")
    .addHelpText(
      "after",
      "\nExit codes: 0 the job succeeded; 1 it failed (the events say how); 2 the request on stdin was not valid.\n" +
        'Example:\n  echo \'{"task":{"job":{"label":"j"},"config":{"outputs":[{"str":"out/1"}]}},"command":["true"],"jobRunId":"r1","buildRequestId":"b1"}\' | databuild wrapper',
    )
    .action(async () => {
      const ctx = context();
      setExitCode(await runWrapperCommand(process.stdin, ctx.io.stdout, { signals: process, stderr: ctx.io.stderr }));
    });
}
