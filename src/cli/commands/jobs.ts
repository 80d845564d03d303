/**
 * @module `databuild jobs [--json]`: the jobs of the graph and their output
 * patterns.
 */
import { create, toJsonString } from "@bufbuild/protobuf";
import type { Command } from "commander";
import type { Graph } from "../../core/graph.ts";
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

export function describeGraph(graph: Graph): GraphDescription {
  return create(GraphDescriptionSchema, {
    label: graph.label,
    file: graph.file ?? "",
    jobs: graph.jobs.map((job) => ({
      label: { label: job.label },
      outputPatterns: job.outputs.map((p) => p.source),
      execKind: job.exec.kind,
      execCommand: job.exec.kind === "command" ? [...job.exec.command] : [],
      version: job.version,
      definedAt: job.definedAt ?? "",
    })),
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
