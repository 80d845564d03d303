/**
 * @module `databuild build REF...`: analyze, skip what is available, run the
 * rest in parallel, record everything in the build event log.
 */
import { Option, type Command } from "commander";
import { spawnSync } from "node:child_process";
import { accessSync, constants, realpathSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { DEFAULT_BUILD_REQUEST } from "../../executor/build-request.ts";
import { buildGraph } from "../../executor/build-graph.ts";
import { JobRunners } from "../../wrapper/index.ts";
import { WorkerJobRunner } from "../../workers/index.ts";
import { SlurmJobRunner } from "../../launchers/slurm/index.ts";
import type { JobRunner } from "../../core/job-runner.ts";
import { UsageError } from "../../core/errors.ts";
import type { CommandContext } from "../context.ts";
import { requester } from "../requester.ts";
import { EXIT_FAILURE, EXIT_OK } from "../exit-codes.ts";
import { handleInterrupts } from "../interrupt.ts";
import {
  byteSize,
  configLimitsOf,
  configMaxOutputOption,
  configTimeoutOption,
  nonNegativeInteger,
  positiveInteger,
  positiveSeconds,
  type ConfigLimitFlags,
} from "../options.ts";
import { LineDisplay } from "../progress/line-display.ts";
import { formatBuildSummary } from "./build-summary.ts";

interface BuildOptions extends ConfigLimitFlags {
  parallel: number;
  keepGoing?: boolean;
  dryRun?: boolean;
  force?: boolean;
  retries: number;
  heartbeat: number;
  heartbeatTimeout: number;
  killGrace: number;
  logLimit?: number;
  launcher: "local" | "worker" | "slurm";
  slurmPartition?: string;
  slurmArg: string[];
  slurmDir?: string;
  wrapper?: string;
}

export function registerBuild(
  program: Command,
  context: () => CommandContext,
  setExitCode: (code: number) => void,
): void {
  program
    .command("build")
    .description("build REF... and everything they need that is not already available")
    .argument("<refs...>", "partition refs to build")
    .option("-j, --parallel <n>", "most jobs running at once", positiveInteger("--parallel"), availableParallelism())
    .option("-k, --keep-going", "after a job fails, build everything not downstream of it")
    .option("-n, --dry-run", "show what would run; run and record nothing")
    .option("--force", "rebuild the requested partitions even if available (not their inputs)")
    .option(
      "--retries <n>",
      "extra attempts for retryable failures (killed by a signal, launch failure)",
      nonNegativeInteger("--retries"),
      DEFAULT_BUILD_REQUEST.retries,
    )
    .option(
      "--heartbeat <seconds>",
      "heartbeat period of the build and its jobs",
      positiveSeconds("--heartbeat", { min: 0.05, max: 3600 }),
      DEFAULT_BUILD_REQUEST.heartbeatMs / 1000,
    )
    .option(
      "--heartbeat-timeout <seconds>",
      "after this long without a heartbeat, other build requests may declare this one lost and take its work over",
      positiveSeconds("--heartbeat-timeout", { min: 0.5, max: 86_400 }),
      DEFAULT_BUILD_REQUEST.heartbeatTimeoutMs / 1000,
    )
    .option(
      "--kill-grace <seconds>",
      "time a cancelled job gets between SIGTERM and SIGKILL",
      positiveSeconds("--kill-grace"),
      DEFAULT_BUILD_REQUEST.killGraceMs / 1000,
    )
    .option(
      "--log-limit <bytes>",
      "most output of each job run recorded in the log, for jobs that set none, e.g. 64MiB; the rest is dropped and counted (default: 16MiB)",
      byteSize("--log-limit"),
    )
    .addOption(
      new Option(
        "--launcher <launcher>",
        "where jobs run: local (processes on this host), worker (the `databuild worker` pool sharing this log) or slurm (sbatch to a SLURM cluster; docs/deploy.md)",
      )
        .choices(["local", "worker", "slurm"])
        .default("local"),
    )
    .option("--slurm-partition <partition>", "--launcher slurm: the SLURM partition (sbatch --partition)")
    .option(
      "--slurm-arg <arg>",
      "--launcher slurm: an sbatch option for every job, e.g. --slurm-arg=--account=lab (repeat for several)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      "--slurm-dir <dir>",
      "--launcher slurm: where the runs' requests and events files go, on a filesystem the compute nodes share (default: .databuild/slurm beside the graph file)",
    )
    .option(
      "--wrapper <file>",
      "--launcher slurm: the exec wrapper compute jobs run, e.g. one made by `databuild package wrapper` (default: this databuild, with the node running it)",
    )
    .addOption(configTimeoutOption())
    .addOption(configMaxOutputOption())
    .action(async (refArgs: string[], options: BuildOptions, command: Command) => {
      const ctx = context();
      if (options.heartbeatTimeout <= options.heartbeat)
        throw new UsageError(
          `--heartbeat-timeout (${options.heartbeatTimeout} s) must be longer than --heartbeat (${options.heartbeat} s)`,
        );
      const refs = ctx.refs(refArgs);
      if (options.launcher !== "slurm") {
        const stray = (["slurmPartition", "slurmDir", "wrapper"] as const).find((o) => options[o] !== undefined);
        if (stray || options.slurmArg.length > 0)
          throw new UsageError(
            `--${(stray ?? "slurmArg").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is for --launcher slurm (the launcher is ${options.launcher})`,
          );
      }
      if (ctx.server()) {
        // Only what the user gave is sent: 0 leaves the choice to the service.
        const given = (name: string) => command.getOptionValueSource(name) === "cli";
        const local = REMOTE_UNSUPPORTED.filter(([name]) => given(name)).map(([, flag]) => flag);
        const { remoteBuild } = await import("../remote/build.ts");
        return remoteBuild(
          ctx,
          refs,
          {
            ...options,
            parallel: given("parallel") ? options.parallel : 0,
            heartbeat: given("heartbeat") ? options.heartbeat : 0,
            heartbeatTimeout: given("heartbeatTimeout") ? options.heartbeatTimeout : 0,
            local,
          },
          setExitCode,
        );
      }
      // In-process jobs run on worker threads that load the graph file (SPEC 3.2),
      // started once the plan has such jobs to run (a build with nothing to do starts none).
      const graphFile = ctx.graphFile();
      const localRunner = new JobRunners({
        graphFile: isModuleFile(graphFile) && !options.dryRun ? graphFile : undefined,
      });
      let runner: JobRunner = localRunner;
      let graph: Awaited<ReturnType<CommandContext["loadGraph"]>>;
      try {
        graph = await ctx.loadGraph();
      } catch (error) {
        await localRunner.close();
        throw error;
      }
      const log = await ctx.openEventLog({ readOnly: options.dryRun ?? false });
      const stderr = ctx.io.stderr;
      if (options.launcher === "worker" && !options.dryRun)
        runner = new WorkerJobRunner(log, {
          local: localRunner,
          requirementsOf: (label) => graph.job(label)?.requires,
          onWaiting: (message) => stderr.write(`databuild: ${message}\n`),
        });
      if (options.launcher === "slurm" && !options.dryRun)
        runner = new SlurmJobRunner({
          ...slurmSettings(options, graphFile, ctx.io.cwd),
          local: localRunner,
          resourcesOf: (label) => graph.job(label)?.resources,
          onWaiting: (message) => stderr.write(`databuild: ${message}\n`),
          onNote: ctx.note,
        });
      const display = options.dryRun
        ? undefined
        : // A pseudo-terminal with no size (some CI runners) would clip a live display to nothing.
          // (The live display, with log-update's modules, is loaded only for a terminal.)
          stderr.isTTY && ((stderr as NodeJS.WriteStream).rows ?? 0) > 0
          ? new (await import("../progress/tty-display.ts")).TtyDisplay(stderr as NodeJS.WriteStream)
          : new LineDisplay((line) => stderr.write(line + "\n"));
      // Ctrl-C cancels, while planning too; a second one exits at once (130).
      const interrupts = handleInterrupts(
        stderr,
        "interrupted: cancelling; config commands are stopped, what other build requests wait on is finished first",
      );
      const started = Date.now();
      try {
        const result = await buildGraph(
          { graph, log, runner, observers: display ? [display.observe] : [] },
          {
            ...DEFAULT_BUILD_REQUEST,
            refs,
            parallel: options.parallel,
            keepGoing: options.keepGoing ?? false,
            force: options.force ?? false,
            dryRun: options.dryRun ?? false,
            retries: options.retries,
            heartbeatMs: options.heartbeat * 1000,
            heartbeatTimeoutMs: options.heartbeatTimeout * 1000,
            killGraceMs: options.killGrace * 1000,
            requester: requester(),
            signal: interrupts.signal,
            configLimits: configLimitsOf(options),
            logLimitBytes: options.logLimit,
          },
        );
        display?.stop();
        if (result.status === "dry-run" && result.jobGraph) {
          const willRun = result.jobGraph.nodes;
          for (const task of willRun)
            ctx.out(`would run ${task.job!.label}  ${task.config!.outputs.map((o) => o.str).join(", ")}\n`);
        }
        stderr.write(
          formatBuildSummary(result, Date.now() - started, ctx.commandPrefix(), { dryRun: options.dryRun ?? false }),
        );
        setExitCode(result.status === "completed" || result.status === "dry-run" ? EXIT_OK : EXIT_FAILURE);
      } finally {
        display?.stop();
        interrupts.dispose();
        await runner.close?.();
        await log.close();
      }
    });
}

/** Options the service decides for itself (RequestBuild's BuildOptions has no field for them). */
const REMOTE_UNSUPPORTED: readonly [string, string][] = [
  ["retries", "--retries"],
  ["killGrace", "--kill-grace"],
  ["logLimit", "--log-limit"],
  ["launcher", "--launcher"],
  ["configTimeout", "--config-timeout"],
  ["configMaxOutput", "--config-max-output"],
];

/**
 * Where the SLURM launcher puts the runs' files and what the compute jobs
 * run. Checks what can be checked on this host: sbatch is on PATH and the
 * wrapper is an executable file.
 */
function slurmSettings(options: BuildOptions, graphFile: string, cwd: string) {
  const sbatch = spawnSync("sbatch", ["--version"], { encoding: "utf8" });
  if (sbatch.error || sbatch.status !== 0)
    throw new UsageError(
      `--launcher slurm: sbatch does not run here (${sbatch.error?.message ?? sbatch.stderr.trim()}); run databuild on a host that can submit SLURM jobs`,
    );
  let wrapper: string[];
  if (options.wrapper !== undefined) {
    const file = resolve(cwd, options.wrapper);
    try {
      accessSync(file, constants.X_OK);
    } catch {
      throw new UsageError(
        `--wrapper ${options.wrapper}: not an executable file (make one: databuild package wrapper -o FILE)`,
      );
    }
    wrapper = [file];
  } else {
    // This databuild: compute nodes need node and databuild at the same paths (or use --wrapper).
    wrapper = [process.execPath, realpathSync(process.argv[1]!), "wrapper"];
  }
  return {
    dir: resolve(cwd, options.slurmDir ?? join(dirname(resolve(cwd, graphFile)), ".databuild", "slurm")),
    wrapper,
    partition: options.slurmPartition,
    sbatchArgs: options.slurmArg,
  };
}

/** A graph module (which may hold in-process jobs), not a manifest. */
function isModuleFile(file: string): boolean {
  return /\.(ts|mts|js|mjs)$/i.test(file);
}
