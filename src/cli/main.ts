/**
 * @module The `databuild` command line: the composition root that parses
 * arguments, wires the commands and maps errors to exit codes.
 */
import { Command, CommanderError } from "commander";
import { isDatabuildError } from "../core/errors.ts";
import { registerAnalyze } from "./commands/analyze.ts";
import { registerBuild } from "./commands/build.ts";
import { registerBuilds } from "./commands/builds.ts";
import { registerEvents } from "./commands/events.ts";
import { registerExplain } from "./commands/explain.ts";
import { registerInvalidate } from "./commands/invalidate.ts";
import { registerInit } from "./commands/init.ts";
import { registerReindex } from "./commands/reindex.ts";
import { registerLogs } from "./commands/logs.ts";
import { registerStatus } from "./commands/status.ts";
import { registerWrapper } from "./commands/wrapper.ts";
import { registerJobs } from "./commands/jobs.ts";
import { registerMermaid } from "./commands/mermaid.ts";
import { CommandContext, type GlobalOptions } from "./context.ts";
import { EXIT_OK, exitCodeFor } from "./exit-codes.ts";
import { processIO, type CliIO } from "./io.ts";

const VERSION = "0.1.0";

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const program = new Command("databuild");
  const context = () => new CommandContext(io, () => program.opts<GlobalOptions>());
  program
    .description("Partition-oriented data builds: ask for partitions, databuild plans and builds what they need.")
    .version(VERSION)
    .option(
      "--graph <path>",
      "graph file (.ts/.js module or .yaml/.json manifest); default: databuild.{ts,js,yaml,json} here, or $DATABUILD_GRAPH",
    )
    .option(
      "--db <path>",
      "build event log (SQLite file); default: .databuild/databuild.db beside the graph file, or $DATABUILD_DB",
    )
    // Set before the commands are added: subcommands inherit both.
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .addHelpText(
      "after",
      "\nExit codes: 0 success; 1 the work failed (cycle, unmatched or ambiguous ref, config or job failure);\n" +
        "2 the command was used wrongly (unknown flag, missing or invalid graph file, malformed ref);\n" +
        "3 the event log could not be read or written (disk full, read-only, no permission, deleted or replaced while in use, I/O error).",
    );
  let exitCode = EXIT_OK;
  const setExitCode = (code: number) => {
    exitCode = code;
  };
  registerAnalyze(program, context);
  registerBuild(program, context, setExitCode);
  registerEvents(program, context);
  registerStatus(program, context);
  registerBuilds(program, context);
  registerLogs(program, context);
  registerWrapper(program, context, setExitCode);
  registerMermaid(program, context);
  registerJobs(program, context);
  registerExplain(program, context);
  registerInvalidate(program, context);
  registerInit(program, context);
  registerReindex(program, context);

  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    if (!(error instanceof CommanderError)) io.stderr.write(describeError(error));
    return exitCodeFor(error);
  }
}

function describeError(error: unknown): string {
  if (isDatabuildError(error)) return `databuild: error: ${error.message}\n`;
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `databuild: internal error (please report it): ${stack}\n`;
}
