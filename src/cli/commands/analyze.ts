/**
 * @module `databuild analyze REF... [--json]`: the task graph that would
 * materialize the refs, in dependency order.
 */
import { toJsonString } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { DepType, JobGraphSchema, type JobGraph, type Task } from "../../gen/databuild_pb.ts";
import { analyze } from "../../planner/analyze.ts";
import type { CommandContext } from "../context.ts";
import { handleInterrupts } from "../interrupt.ts";
import { configLimitsOf, configMaxOutputOption, configTimeoutOption, type ConfigLimitFlags } from "../options.ts";

export function registerAnalyze(program: Command, context: () => CommandContext): void {
  program
    .command("analyze")
    .description("plan the tasks that would materialize REF... (nothing is run)")
    .argument("<refs...>", "partition refs to materialize, e.g. reviews/date=2024-05-01")
    .option("--json", "print the JobGraph as proto3 JSON")
    .addOption(configTimeoutOption())
    .addOption(configMaxOutputOption())
    .action(async (refArgs: string[], options: { json?: boolean } & ConfigLimitFlags) => {
      const ctx = context();
      const refs = ctx.refs(refArgs);
      const graph = await ctx.loadGraph();
      const jobGraph = await planInterruptibly(ctx, (signal) =>
        analyze(graph, refs, { signal, configLimits: configLimitsOf(options) }),
      );
      if (options.json) ctx.out(toJsonString(JobGraphSchema, jobGraph, { alwaysEmitImplicit: true }) + "\n");
      else ctx.out(formatJobGraph(jobGraph));
    });
}

/**
 * Runs `plan` (which calls configs) with Ctrl-C stopping them: the analysis
 * then fails with AnalyzeCancelledError (exit 1); a second Ctrl-C exits 130.
 */
export async function planInterruptibly<T>(ctx: CommandContext, plan: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const interrupts = handleInterrupts(ctx.io.stderr, "interrupted: stopping the config commands");
  try {
    return await plan(interrupts.signal);
  } finally {
    interrupts.dispose();
  }
}

const INPUTS_SHOWN = 3;

/** The human summary: one line per task, in dependency order. */
export function formatJobGraph(jobGraph: JobGraph): string {
  const tasks = jobGraph.nodes;
  const requested = jobGraph.outputs.length;
  const lines = [
    `${tasks.length} task${tasks.length === 1 ? "" : "s"} to materialize ${requested} requested partition${requested === 1 ? "" : "s"} (graph ${jobGraph.label}), in dependency order:`,
  ];
  const width = Math.max(0, ...tasks.slice(0, 10_000).map((t) => t.job!.label.length));
  const number = String(tasks.length).length;
  tasks.forEach((task, i) =>
    lines.push(`${String(i + 1).padStart(number)}. ${task.job!.label.padEnd(width)}  ${describeTask(task)}`),
  );
  return lines.join("\n") + "\n";
}

function describeTask(task: Task): string {
  const config = task.config!;
  const outputs = config.outputs.map((o) => o.str).join(", ");
  const materialize = config.inputs.filter((i) => i.depType !== DepType.QUERY).map((i) => i.partitionRef!.str);
  const query = config.inputs.filter((i) => i.depType === DepType.QUERY).map((i) => i.partitionRef!.str);
  let text = outputs;
  if (materialize.length > 0) text += `  <- ${abbreviate(materialize)}`;
  if (query.length > 0) text += `  (query: ${abbreviate(query)})`;
  return text;
}

function abbreviate(refs: readonly string[]): string {
  const shown = refs.slice(0, INPUTS_SHOWN).join(", ");
  return refs.length > INPUTS_SHOWN ? `${shown} (+${refs.length - INPUTS_SHOWN} more)` : shown;
}
