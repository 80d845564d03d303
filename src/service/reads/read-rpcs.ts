/**
 * @module The read side of DatabuildService: the handlers the service's
 * router spreads in next to its write RPCs. Every answer comes from the
 * live log (and the log's indexes for one build request's or job run's
 * events), with the same answers as the CLI commands give on the same log.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { DatabuildService, TriggerView } from "../../gen/databuild_pb.ts";
import type { EventLog } from "../../core/event-log.ts";
import type { Graph } from "../../core/graph.ts";
import type { Explained, HostProcesses } from "../../coordination/index.ts";
import type { LiveLog } from "./live-log.ts";
import { getBuildRequest, getJobRun, listBuildRequests, listJobRuns } from "./build-request-reads.ts";
import { explainPartition } from "./explain-reads.ts";
import { getGraph } from "./graph-description.ts";
import { jobRunLogs } from "./job-run-logs.ts";
import { PartitionReads } from "./partition-reads.ts";
import { watchEvents } from "./watch-events.ts";

export type ReadRpcName =
  | "getBuildRequest"
  | "listBuildRequests"
  | "getPartitions"
  | "listPartitions"
  | "explainPartition"
  | "watchEvents"
  | "getJobRunLogs"
  | "getGraph"
  | "listJobRuns"
  | "getJobRun";

export type ReadRpcs = Pick<ServiceImpl<typeof DatabuildService>, ReadRpcName>;

export interface ReadRpcDeps {
  readonly log: EventLog;
  readonly live: LiveLog;
  /** The service's graph (explain plans with it, GetGraph describes it); undefined: explain shows the log alone. */
  readonly graph: Graph | undefined;
  /** The triggers GetGraph lists. */
  readonly triggerViews?: () => TriggerView[];
  /**
   * Fills PartitionExplanation.summary as `databuild explain --json` does
   * (the composition root passes src/cli/format's explanationSummary, which
   * this folder may not import).
   */
  readonly summarize?: (answer: Explained, nowMs: number) => string;
  /** What this host tells about holders' processes (default /proc). */
  readonly host?: HostProcesses;
  readonly note?: (message: string) => void;
}

export function readRpcs(deps: ReadRpcDeps): ReadRpcs {
  const { log, live } = deps;
  const partitions = new PartitionReads(log, live);
  return {
    getBuildRequest: (request) => getBuildRequest(live, request),
    listBuildRequests: (request) => listBuildRequests(live, request),
    getPartitions: (request, context) => partitions.getPartitions(request, context),
    listPartitions: (request) => partitions.listPartitions(request),
    explainPartition: (request, context) => explainPartition(deps, request, context.signal),
    watchEvents: (request, context) => watchEvents(log, live, request, context),
    getJobRunLogs: (request, context) => jobRunLogs(log, live, request, context),
    getGraph: () => getGraph(deps.graph, deps.triggerViews?.() ?? []),
    listJobRuns: (request) => listJobRuns(log, live, request),
    getJobRun: (request) => getJobRun(live, request),
  };
}
