/**
 * @module The `databuild` command line: the composition root that parses
 * arguments, wires the commands and maps errors to exit codes. It loads only
 * what the command run needs (SPEC 4: a command that needs no graph starts
 * within 2x of `node -e 0`): `--version` answers before anything is loaded,
 * and each command's module (with its dependencies: the event log's SQLite,
 * the protobuf registry, the planner, tsx) is imported only when that
 * command runs. The others are listed from COMMANDS, so `--help` and
 * "unknown command" suggestions load none of them.
 */
import type { Command } from "commander";
import { isDatabuildError, UsageError } from "../core/errors.ts";
import type { CommandContext, GlobalOptions } from "./context.ts";
import { processIO, type CliIO } from "./io.ts";

import { VERSION } from "./version.ts";

/** What every command module exports: it adds its command (and action) to the program. */
type Register = (program: Command, context: () => CommandContext, setExitCode: (code: number) => void) => void;

interface CommandEntry {
  readonly name: string;
  /** How `databuild --help` lists it, and its description: what the command's module declares (main.test.ts checks). */
  readonly term: string;
  readonly description: string;
  readonly load: () => Promise<Register>;
}

/** Every command, in the order `databuild --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "analyze",
    term: "analyze [options] <refs...>",
    description: "plan the tasks that would materialize REF... (nothing is run)",
    load: async () => (await import("./commands/analyze.ts")).registerAnalyze,
  },
  {
    name: "build",
    term: "build [options] <refs...>",
    description: "build REF... and everything they need that is not already available",
    load: async () => (await import("./commands/build.ts")).registerBuild,
  },
  {
    name: "events",
    term: "events [options]",
    description: "print the build event log (every state transition of every build request)",
    load: async () => (await import("./commands/events.ts")).registerEvents,
  },
  {
    name: "status",
    term: "status [options] <refs...>",
    description: "show each partition's state: who built it, when, from which inputs; or who builds it, or why not",
    load: async () => (await import("./commands/status.ts")).registerStatus,
  },
  {
    name: "builds",
    term: "builds [options]",
    description: "list build requests: when, what was asked, how it went",
    load: async () => (await import("./commands/builds.ts")).registerBuilds,
  },
  {
    name: "logs",
    term: "logs [options] <job-run-id>",
    description: "print what a job run wrote to stdout and stderr",
    load: async () => (await import("./commands/logs.ts")).registerLogs,
  },
  {
    name: "wrapper",
    term: "wrapper",
    description: "run one job from a JobRunRequest on stdin; print its BuildEvents as JSON lines on stdout",
    load: async () => (await import("./commands/wrapper.ts")).registerWrapper,
  },
  {
    name: "mermaid",
    term: "mermaid [options] <refs...>",
    description: "print the task graph for REF... as a mermaid flowchart (paste into a ```mermaid block)",
    load: async () => (await import("./commands/mermaid.ts")).registerMermaid,
  },
  {
    name: "compile",
    term: "compile [options] <refs...>",
    description: "write a standalone bash script that builds REF... with neither Node nor databuild (--bash)",
    load: async () => (await import("./commands/compile.ts")).registerCompile,
  },
  {
    name: "package",
    term: "package",
    description: "package part of databuild to run where it is not installed: `package wrapper -o FILE`",
    load: async () => (await import("./commands/package.ts")).registerPackage,
  },
  {
    name: "jobs",
    term: "jobs [options]",
    description: "list the graph's jobs with their output patterns",
    load: async () => (await import("./commands/jobs.ts")).registerJobs,
  },
  {
    name: "explain",
    term: "explain [options] <refs...>",
    description:
      "explain each partition's state (who built it, why it is stale, building or failed) and what a build would run",
    load: async () => (await import("./commands/explain.ts")).registerExplain,
  },
  {
    name: "invalidate",
    term: "invalidate [options] <refs...>",
    description: "mark available partitions invalid: the next build that needs them rebuilds them",
    load: async () => (await import("./commands/invalidate.ts")).registerInvalidate,
  },
  {
    name: "init",
    term: "init [options] [dir]",
    description:
      "scaffold a graph project: package.json (databuild as a dependency), tsconfig.json, databuild.ts with an in-process TypeScript job and a command job, .gitignore",
    load: async () => (await import("./commands/init.ts")).registerInit,
  },
  {
    name: "worker",
    term: "worker [options]",
    description: "join the worker pool of a build event log and run the jobs builds offer to it (--launcher worker)",
    load: async () => (await import("./commands/worker.ts")).registerWorker,
  },
  {
    name: "reindex",
    term: "reindex",
    description: "rebuild every read model (status, explain, builds, ...) from the whole event log",
    load: async () => (await import("./commands/reindex.ts")).registerReindex,
  },
  {
    name: "triggers",
    term: "triggers [options]",
    description: "list the graph's schedules and sensors with their last and next ticks; pause or resume one",
    load: async () => (await import("./commands/triggers.ts")).registerTriggers,
  },
  {
    name: "serve",
    term: "serve [options]",
    description: "serve the graph's log over an API (Connect, gRPC, gRPC-Web), run its builds and triggers",
    load: async () => (await import("./commands/serve.ts")).registerServe,
  },
  {
    name: "token",
    term: "token",
    description: "create, list and revoke the bearer tokens of databuild serve (only their hashes are kept)",
    load: async () => (await import("./commands/token.ts")).registerToken,
  },
];

/** The program's options that take a value: `--graph <path>`, `--db <path-or-url>`, `--server <url>`, `--token <token>`. */
const VALUE_OPTIONS = new Set(["--graph", "--db", "--server", "--token"]);

/**
 * The command `argv` runs, found as commander finds it: the first operand
 * before any option the program does not know (`help X` runs X's help).
 * Undefined for none (`--help`, no arguments) or an unknown option first.
 */
export function commandNamed(argv: readonly string[]): string | undefined {
  const operands: string[] = [];
  for (let i = 0; i < argv.length && operands.length < 2; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (arg.includes("=") && VALUE_OPTIONS.has(arg.slice(0, arg.indexOf("=")))) continue;
    else if (arg.length > 1 && arg.startsWith("-")) break;
    else operands.push(arg);
  }
  return operands[0] === "help" ? operands[1] : operands[0];
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const [{ Command, CommanderError, Help }, { CommandContext }, { EXIT_OK, exitCodeFor }] = await Promise.all([
    import("commander"),
    import("./context.ts"),
    import("./exit-codes.ts"),
  ]);
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
      "--db <path-or-url>",
      "build event log: an SQLite file, or a PostgreSQL database (postgres://USER@HOST:PORT/DB); default: $DATABUILD_DB, else .databuild/databuild.db beside the graph file",
    )
    .option(
      "--server <url>",
      `talk to a databuild serve at URL instead of opening the log (${[...CLIENT_COMMANDS].join(", ")}); default: $DATABUILD_SERVER`,
    )
    .option("--token <token>", "bearer token for --server; default: $DATABUILD_TOKEN")
    // Set before the commands are added: subcommands inherit both.
    .showHelpAfterError("(run with --help for usage)")
    // The commands not loaded are listed from COMMANDS.
    .configureHelp({
      showGlobalOptions: true,
      subcommandTerm: (command) =>
        COMMANDS.find((c) => c.name === command.name())?.term ?? new Help().subcommandTerm(command),
    })
    .exitOverride()
    .hook("preAction", (_program, command) => refuseServerFor(commandPath(command), program.opts<GlobalOptions>()))
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .addHelpText(
      "after",
      "\nExit codes: 0 success; 1 the work failed (cycle, unmatched or ambiguous ref, config or job failure);\n" +
        "2 the command was used wrongly (unknown flag, missing or invalid graph file, malformed ref);\n" +
        "3 the event log could not be read or written (disk full, read-only, no permission, deleted or replaced while in use, I/O error).\n" +
        "With --server: 2 also when the service refuses the call (no token, or one without the scope); 3 when it cannot be reached.",
    );
  let exitCode = EXIT_OK;
  const setExitCode = (code: number) => {
    exitCode = code;
  };
  try {
    // The command run is loaded; the others are placeholders that only name and describe themselves.
    const run = commandNamed(argv);
    for (const entry of COMMANDS) {
      if (entry.name === run) (await entry.load())(program, context, setExitCode);
      else
        program
          .command(entry.name)
          .description(entry.description)
          .allowUnknownOption()
          .allowExcessArguments()
          .action(() => {
            throw new Error(`databuild ${entry.name} was not loaded for ${JSON.stringify(argv)}`);
          });
    }
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    if (!(error instanceof CommanderError)) io.stderr.write(describeError(error));
    return exitCodeFor(error);
  }
}

/** The commands that talk to a service with --server; the others read the graph or the log themselves. */
const CLIENT_COMMANDS = new Set(["build", "status", "explain", "events", "builds", "logs", "invalidate"]);

/** "token create" for the action of `databuild token create`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** An explicit --server on a command that would ignore it: say so rather than quietly work on a local log. */
function refuseServerFor(command: string, options: GlobalOptions): void {
  if (options.server === undefined || CLIENT_COMMANDS.has(command)) return;
  const first = command.split(" ")[0]!;
  throw new UsageError(
    `databuild ${command} does not talk to a service: --server works with ${[...CLIENT_COMMANDS].join(", ")}; run ${first} without --server, where the graph and the log are`,
  );
}

function describeError(error: unknown): string {
  if (isDatabuildError(error)) return `databuild: error: ${error.message}\n`;
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `databuild: internal error (please report it): ${stack}\n`;
}
