/**
 * @module `databuild worker`: join the worker pool of a build event log and
 * run the job runs builds offer to it (`databuild build --launcher worker`),
 * until stopped. The first SIGINT or SIGTERM lets the running jobs finish
 * and leaves the pool; a second stops them; a third exits at once (130).
 */
import { InvalidArgumentError, Option, type Command } from "commander";
import { availableParallelism } from "node:os";
import { ProcessJobRunner } from "../../wrapper/index.ts";
import { Worker } from "../../workers/index.ts";
import { UsageError } from "../../core/errors.ts";
import type { CommandContext } from "../context.ts";
import { positiveInteger, positiveSeconds } from "../options.ts";
import { VERSION } from "../version.ts";

interface WorkerFlags {
  slots: number;
  label: Record<string, string>;
  heartbeat: number;
  heartbeatTimeout: number;
}

export const DEFAULT_WORKER_HEARTBEAT_S = 2;
export const DEFAULT_WORKER_HEARTBEAT_TIMEOUT_S = 30;

export function registerWorker(program: Command, context: () => CommandContext): void {
  program
    .command("worker")
    .description("join the worker pool of a build event log and run the jobs builds offer to it (--launcher worker)")
    .option(
      "--slots <n>",
      "job runs at once (a job may take several: requires.slots)",
      positiveInteger("--slots"),
      availableParallelism(),
    )
    .addOption(
      new Option("--label <key=value>", "a label jobs may require (requires.labels); repeat for several")
        .argParser(parseLabel)
        .default({}, "none"),
    )
    .option(
      "--heartbeat <seconds>",
      "how often the worker renews its lease",
      positiveSeconds("--heartbeat", { min: 0.05, max: 3600 }),
      DEFAULT_WORKER_HEARTBEAT_S,
    )
    .option(
      "--heartbeat-timeout <seconds>",
      "the lease: after this long without a heartbeat the worker may be declared lost and its jobs run elsewhere; it stops its own jobs after a third of it",
      positiveSeconds("--heartbeat-timeout", { min: 0.5, max: 86_400 }),
      DEFAULT_WORKER_HEARTBEAT_TIMEOUT_S,
    )
    .addHelpText(
      "after",
      "\nThe worker and the builds must share the log: use PostgreSQL (--db postgres://user@host/db) for\n" +
        "workers on other hosts; a SQLite file serves workers on this host. Jobs run with the command and\n" +
        "working directory the build recorded, so every worker host needs the graph's files at the same\n" +
        "paths (a shared filesystem, or the same checkout). Stop with Ctrl-C or SIGTERM: running jobs finish\n" +
        "first; a second signal stops them.",
    )
    .action(async (flags: WorkerFlags) => {
      const ctx = context();
      if (flags.heartbeatTimeout <= flags.heartbeat * 3)
        throw new UsageError(
          `--heartbeat-timeout (${flags.heartbeatTimeout} s) must be more than three --heartbeat periods (${flags.heartbeat} s each)`,
        );
      const log = await ctx.openEventLog();
      const stderr = ctx.io.stderr;
      const say = (line: string) => stderr.write(`${new Date().toISOString()} ${line}\n`);
      const worker = new Worker(log, {
        slots: flags.slots,
        labels: flags.label,
        heartbeatMs: Math.round(flags.heartbeat * 1000),
        heartbeatTimeoutMs: Math.round(flags.heartbeatTimeout * 1000),
        runner: new ProcessJobRunner(),
        version: VERSION,
        say,
      });
      let signals = 0;
      const onSignal = () => {
        signals++;
        if (signals === 1) worker.drain();
        else if (signals === 2) worker.stopNow("the worker was asked to stop");
        else process.exit(130);
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      try {
        say(`serving ${ctx.shownEventLogLocation()}`);
        await worker.run();
        say("left the pool");
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        await log.close();
      }
    });
}

function parseLabel(value: string, previous: Record<string, string>): Record<string, string> {
  const match = /^([^=\s]+)=(.*)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`--label must be key=value, got ${JSON.stringify(value)}`);
  return { ...previous, [match[1]!]: match[2]! };
}
