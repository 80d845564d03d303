/**
 * @module GetGraph: the service's graph as `databuild jobs --json` describes
 * it, and its triggers.
 */
import { create } from "@bufbuild/protobuf";
import { GetGraphResponseSchema, type GetGraphResponse, type TriggerView } from "../../gen/databuild_pb.ts";
import type { Graph } from "../../core/graph.ts";
import { describeGraph } from "../../core/graph-description.ts";
import { Code, ConnectError } from "@connectrpc/connect";

export function getGraph(graph: Graph | undefined, triggers: readonly TriggerView[]): GetGraphResponse {
  if (!graph) throw new ConnectError("this service was started without a graph", Code.FailedPrecondition);
  return create(GetGraphResponseSchema, {
    // The same description as `databuild jobs --json` (src/cli/commands/jobs.ts).
    graph: describeGraph(graph),
    triggers: [...triggers],
  });
}
