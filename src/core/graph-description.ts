/**
 * @module A graph's jobs as data (GraphDescription): what `databuild jobs
 * --json` prints and the service's GetGraph answers, from one definition.
 */
import { create } from "@bufbuild/protobuf";
import { GraphDescriptionSchema, type GraphDescription } from "../gen/databuild_pb.ts";
import type { Graph } from "./graph.ts";

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
