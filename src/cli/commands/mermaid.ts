/**
 * @module `databuild mermaid REF...`: the task graph as a mermaid flowchart.
 */
import type { Command } from "commander";
import { analyze } from "../../planner/analyze.ts";
import { jobGraphToMermaid } from "../../planner/mermaid.ts";
import type { CommandContext } from "../context.ts";
import { configLimitsOf, configMaxOutputOption, configTimeoutOption, type ConfigLimitFlags } from "../options.ts";
import { planInterruptibly } from "./analyze.ts";

export function registerMermaid(program: Command, context: () => CommandContext): void {
  program
    .command("mermaid")
    .description("print the task graph for REF... as a mermaid flowchart (paste into a ```mermaid block)")
    .argument("<refs...>", "partition refs to materialize")
    .addOption(configTimeoutOption())
    .addOption(configMaxOutputOption())
    .action(async (refArgs: string[], options: ConfigLimitFlags) => {
      const ctx = context();
      const refs = ctx.refs(refArgs);
      const graph = await ctx.loadGraph();
      const jobGraph = await planInterruptibly(ctx, (signal) =>
        analyze(graph, refs, { signal, configLimits: configLimitsOf(options) }),
      );
      ctx.out(jobGraphToMermaid(jobGraph));
    });
}
