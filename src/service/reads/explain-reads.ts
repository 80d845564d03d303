/**
 * @module ExplainPartition: `databuild explain REF` on the live log. The
 * state comes from the live view (explainStates, the same code as the
 * CLI's); the plan ("what a build would run now") is a dry run, which
 * reads the view and writes nothing. Only when some holder is gone does the
 * answer need the view as the next build would see it (that holder declared
 * lost, in memory): then a private view is loaded for it, never the live one.
 */
import type { ExplainPartitionRequest, PartitionExplanation } from "../../gen/databuild_pb.ts";
import { isDatabuildError } from "../../core/errors.ts";
import type { EventLog } from "../../core/event-log.ts";
import type { Graph } from "../../core/graph.ts";
import { newId } from "../../core/ids.ts";
import {
  explainPartitions,
  explainStates,
  explanationMessage,
  LogFacts,
  planAndClaim,
  PROC_HOST,
  whyLost,
  type Explained,
  type HostProcesses,
} from "../../coordination/index.ts";
import { AnalyzeCancelledError } from "../../planner/analyze.ts";
import { Code, ConnectError } from "@connectrpc/connect";
import type { LiveLog } from "./live-log.ts";
import { validRef } from "./rpc-errors.ts";

export interface ExplainDeps {
  readonly log: EventLog;
  readonly live: LiveLog;
  readonly graph: Graph | undefined;
  /** Fills PartitionExplanation.summary (the CLI's sentence; the composition root passes it in). */
  readonly summarize?: (answer: Explained, nowMs: number) => string;
  readonly host?: HostProcesses;
  readonly note?: (message: string) => void;
}

export async function explainPartition(
  deps: ExplainDeps,
  request: ExplainPartitionRequest,
  signal: AbortSignal,
): Promise<PartitionExplanation> {
  const ref = validRef(request.partition, "partition");
  const now = Date.now();
  const host = deps.host ?? PROC_HOST;
  const answer = anyHolderGone(deps.live, now, host)
    ? (
        await explainPartitions(await LogFacts.load(deps.log, deps.note, host), graphOrError(deps.graph), [ref], now, {
          signal,
        })
      )[0]!
    : await explainLive(deps, ref, now, host, signal);
  if (deps.summarize) answer.explanation.summary = deps.summarize(answer, now);
  return explanationMessage(answer);
}

async function explainLive(
  deps: ExplainDeps,
  ref: string,
  now: number,
  host: HostProcesses,
  signal: AbortSignal,
): Promise<Explained> {
  const facts = LogFacts.over(deps.log, deps.live.view, host);
  const [answer] = await explainStates(facts, deps.graph, [ref], now);
  const { explanation } = answer!;
  if (!deps.graph) {
    explanation.wouldRunError = `cannot plan without the graph: ${NO_GRAPH}`;
    return answer!;
  }
  try {
    const plan = await planAndClaim(
      {
        graph: deps.graph,
        log: deps.log,
        view: deps.live.view,
        buildRequestId: newId(),
        emit: () => {},
        flush: async () => {},
        host,
        signal,
      },
      [ref],
      { dryRun: true },
    );
    explanation.wouldRun = plan.jobGraph.nodes;
  } catch (error) {
    if (error instanceof AnalyzeCancelledError) throw new ConnectError("the call was cancelled", Code.Canceled);
    if (!isDatabuildError(error)) throw error;
    explanation.wouldRunError = error.message;
  }
  return answer!;
}

const NO_GRAPH = "the service was started without one";

function graphOrError(graph: Graph | undefined): { graph: Graph } | { error: string } {
  return graph ? { graph } : { error: NO_GRAPH };
}

/** Whether some live lease's holder is gone (the next build would declare it lost first). */
function anyHolderGone(live: LiveLog, now: number, host: HostProcesses): boolean {
  for (const lease of live.claims.liveLeases()) if (whyLost(live.claims, lease, now, host)) return true;
  return false;
}
