/**
 * @module `databuild jobs [--json]`: the jobs of the graph and their output
 * patterns.
 */
import { toJsonString } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { describeGraph } from "../../core/graph-description.ts";
import { GraphDescriptionSchema, type GraphDescription } from "../../gen/databuild_pb.ts";
import type { CommandContext } from "../context.ts";

export function registerJobs(program: Command, context: () => CommandContext): void {
  program
    .command("jobs")
    .description("list the graph's jobs with their output patterns")
    .option("--json", "print a GraphDescription as proto3 JSON")
    .action(async (options: { json?: boolean }) => {
      const ctx = context();
      const description = describeGraph(await ctx.loadGraph());
      if (options.json) ctx.out(toJsonString(GraphDescriptionSchema, description, { alwaysEmitImplicit: true }) + "\n");
      else ctx.out(formatJobs(description));
    });
}

function formatJobs(description: GraphDescription): string {
  const lines = [`graph ${description.label} (${description.file}): ${description.jobs.length} jobs`];
  for (const job of description.jobs) {
    const exec = job.execKind === "command" ? job.execCommand.join(" ") : "in-process function";
    lines.push(
      ``,
      `${job.label!.label}  v${job.version}`,
      `  outputs: ${job.outputPatterns.join(", ")}`,
      `  exec:    ${exec}`,
    );
  }
  return lines.join("\n") + "\n";
}
