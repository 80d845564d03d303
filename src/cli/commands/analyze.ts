/**
 * @module `databuild analyze REF... [--json]`: the task graph that would
 * materialize the refs, in dependency order.
 */
import type { Command } from "commander";
import { analyzePlan } from "../../planner/analyze.ts";
import { ChunkWriter, writePlanJson, type WriteChunk } from "../../planner/job-graph-json.ts";
import type { Plan } from "../../planner/plan.ts";
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
      const plan = await planInterruptibly(ctx, (signal) =>
        analyzePlan(graph, refs, { signal, configLimits: configLimitsOf(options) }),
      );
      const write = (chunk: string) => ctx.out(chunk);
      if (options.json) {
        writePlanJson(plan, write);
        ctx.out("\n");
      } else writePlanText(plan, write);
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
/** Tasks whose job labels set the column width (the rest are not scanned for it). */
const WIDTH_SAMPLE = 10_000;

/** The human summary: one line per task, in dependency order, streamed in chunks. */
export function writePlanText(plan: Plan, write: WriteChunk): void {
  const { refs, taskJob, outputStart, outputIds, inputStart, inputIds, jobs } = plan;
  const tasks = plan.size;
  const requested = plan.requested.length;
  const out = new ChunkWriter(write);
  out.add(
    `${tasks} task${tasks === 1 ? "" : "s"} to materialize ${requested} requested partition${requested === 1 ? "" : "s"} (graph ${plan.label}), in dependency order:\n`,
  );
  let width = 0;
  for (let t = 0; t < Math.min(tasks, WIDTH_SAMPLE); t++) width = Math.max(width, jobs[taskJob[t]!]!.length);
  const labels = jobs.map((label) => label.padEnd(width));
  const digits = String(tasks).length;
  for (let t = 0; t < tasks; t++) {
    let line = `${String(t + 1).padStart(digits)}. ${labels[taskJob[t]!]}  `;
    for (let e = outputStart[t]!, end = outputStart[t + 1]!; e < end; e++)
      line += (e === outputStart[t] ? "" : ", ") + refs[outputIds[e]!];
    // The first INPUTS_SHOWN of each kind, and how many more.
    let materialize = 0;
    let query = 0;
    let materializeText = "";
    let queryText = "";
    for (let e = inputStart[t]!, end = inputStart[t + 1]!; e < end; e++) {
      const id = inputIds[e]!;
      if (id >= 0) {
        if (materialize < INPUTS_SHOWN) materializeText += (materialize === 0 ? "" : ", ") + refs[id];
        materialize++;
      } else {
        if (query < INPUTS_SHOWN) queryText += (query === 0 ? "" : ", ") + refs[~id];
        query++;
      }
    }
    if (materialize > 0) line += `  <- ${materializeText}${more(materialize)}`;
    if (query > 0) line += `  (query: ${queryText}${more(query)})`;
    out.add(line + "\n");
  }
  out.flush();
}

function more(count: number): string {
  return count > INPUTS_SHOWN ? ` (+${count - INPUTS_SHOWN} more)` : "";
}
