/**
 * @module `databuild compile --bash REF... [-o FILE] [--parallel N]`: the
 * analyzed JobGraph as a standalone bash script (SPEC 3.9).
 */
import type { Command } from "commander";
import { chmodSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { bashScript } from "../../compile/index.ts";
import { UsageError } from "../../core/errors.ts";
import { Staleness } from "../../core/staleness.ts";
import { DEFAULT_BUILD_REQUEST } from "../../executor/build-request.ts";
import { analyze } from "../../planner/analyze.ts";
import { currentJob, loadReadModel, SharedViewModel } from "../../coordination/index.ts";
import type { CommandContext } from "../context.ts";
import {
  configLimitsOf,
  configMaxOutputOption,
  configTimeoutOption,
  positiveInteger,
  type ConfigLimitFlags,
} from "../options.ts";
import { VERSION } from "../version.ts";
import { planInterruptibly } from "./analyze.ts";

interface CompileOptions extends ConfigLimitFlags {
  bash?: boolean;
  output?: string;
  parallel: number;
  skipAvailable?: boolean;
}

export function registerCompile(program: Command, context: () => CommandContext): void {
  program
    .command("compile")
    .description("write a standalone bash script that builds REF... with neither Node nor databuild (--bash)")
    .argument("<refs...>", "partition refs the script materializes")
    .option("--bash", "compile to a bash script (the one target today)")
    .option("-o, --output <file>", "write the script to FILE (made executable) instead of stdout")
    .option(
      "-j, --parallel <n>",
      "most tasks the script runs at once, unless it is run with -j N",
      positiveInteger("--parallel"),
      1,
    )
    .option(
      "--skip-available",
      "leave out what the build event log says is available and not stale, as a build would (default: every task of the plan)",
    )
    .addOption(configTimeoutOption())
    .addOption(configMaxOutputOption())
    .addHelpText(
      "after",
      "\nThe script runs each task's exec command with its args and env and its JobConfig JSON on stdin, in dependency\n" +
        "order, and stops at the first failure naming the job, its partitions and the exit code. In-process\n" +
        "TypeScript jobs cannot be compiled: the plan must not need them (build them first, then --skip-available).\n" +
        "Exit codes: 0 written; 1 the analysis failed; 2 wrong usage, or the plan has in-process jobs (named).\n" +
        "Example:\n  databuild compile --bash summary/month=2024-01 -o build.sh && ./build.sh -j 4",
    )
    .action(async (refArgs: string[], options: CompileOptions) => {
      const ctx = context();
      if (!options.bash) throw new UsageError("say what to compile to: --bash (the one target today)");
      const refs = ctx.refs(refArgs);
      const graphFile = ctx.graphFile();
      const graph = await ctx.loadGraph();
      const isAvailable = options.skipAvailable ? await usablePartitions(ctx, graph) : undefined;
      const jobGraph = await planInterruptibly(ctx, (signal) =>
        analyze(graph, refs, { signal, configLimits: configLimitsOf(options), isAvailable }),
      );
      const script = bashScript(graph, jobGraph, {
        root: dirname(resolve(graphFile)),
        graphFile: resolve(graphFile),
        requested: refs,
        parallel: options.parallel,
        killGraceSeconds: DEFAULT_BUILD_REQUEST.killGraceMs / 1000,
        version: VERSION,
      });
      if (options.output === undefined) {
        ctx.out(script);
        return;
      }
      const file = resolve(ctx.io.cwd, options.output);
      // Written beside and renamed: a script being run is never overwritten halfway.
      const temp = `${file}.${process.pid}.tmp`;
      try {
        writeFileSync(temp, script, { mode: 0o755 });
        chmodSync(temp, 0o755);
        renameSync(temp, file);
      } catch (error) {
        throw new UsageError(`--output ${options.output}: cannot write the script: ${(error as Error).message}`);
      }
      const tasks = jobGraph.nodes.length;
      ctx.io.stderr.write(
        `databuild: wrote ${options.output}: ${tasks} task${tasks === 1 ? "" : "s"} (run it: ${options.output.includes("/") ? options.output : `./${options.output}`} [-j N])\n`,
      );
    });
}

/** What a build would use as it is: available in the log and not stale. */
async function usablePartitions(
  ctx: CommandContext,
  graph: Awaited<ReturnType<CommandContext["loadGraph"]>>,
): Promise<(ref: string) => boolean> {
  const log = await ctx.openEventLog({ readOnly: true });
  try {
    const { model } = await loadReadModel(log, () => new SharedViewModel(), { note: ctx.note });
    const staleness = new Staleness(model.catalog, (ref, builtBy) => currentJob(graph, ref, builtBy));
    return (ref) => staleness.isUsable(ref);
  } finally {
    await log.close();
  }
}
