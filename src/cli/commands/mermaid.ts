/**
 * @module `databuild mermaid REF...`: the task graph as a mermaid flowchart.
 */
import type { Command } from "commander";
import { analyze } from "../../planner/analyze.ts";
import { jobGraphToMermaid } from "../../planner/mermaid.ts";
import type { CommandContext } from "../context.ts";

export function registerMermaid(program: Command, context: () => CommandContext): void {
  program
    .command("mermaid")
    .description("print the task graph for REF... as a mermaid flowchart (paste into a ```mermaid block)")
    .argument("<refs...>", "partition refs to materialize")
    .action(async (refArgs: string[]) => {
      const ctx = context();
      const refs = ctx.refs(refArgs);
      const jobGraph = await analyze(await ctx.loadGraph(), refs);
      ctx.out(jobGraphToMermaid(jobGraph));
    });
}
