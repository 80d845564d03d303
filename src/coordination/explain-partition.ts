/**
 * @module What the log knows about a partition, and what a build of it would
 * do now (`databuild explain`): its state, who built, builds or failed it,
 * why it is stale, who waits on it, and the tasks a dry-run plan would run.
 * Everything is read from the log; nothing is written.
 */
import { create } from "@bufbuild/protobuf";
import { type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  BuildRequestStatus,
  BuildRequestViewSchema,
  JobRunStatus,
  PartitionExplanationSchema,
  PartitionState,
  PartitionStatus,
  type JobRunView,
  type PartitionExplanation,
  type PartitionManifest,
} from "../gen/databuild_pb.ts";
import { isDatabuildError } from "../core/errors.ts";
import type { EventLog } from "../core/event-log.ts";
import type { Graph } from "../core/graph.ts";
import { newId } from "../core/ids.ts";
import { BuildRequests } from "../core/projections/build-requests.ts";
import { partitionStatusView, type CatalogEntry } from "../core/projections/partition-catalog.ts";
import { Staleness } from "../core/staleness.ts";
import { AnalyzeCancelledError } from "../planner/analyze.ts";
import { currentJob, planAndClaim, type ClaimPlanContext } from "./claim-plan.ts";
import type { HostProcesses } from "./host-processes.ts";
import { readJobRun } from "./job-run-reads.ts";
import { decideLost, whyLost } from "./liveness.ts";
import { PROC_HOST } from "./proc-host-processes.ts";
import { SharedView } from "./shared-view.ts";
import { timestampAtMs } from "../core/timestamp.ts";

/** An explanation, plus what the proto does not carry but a reader needs. */
export interface Explained {
  readonly explanation: PartitionExplanation;
  /** Why the claim holder counts as gone (lease expired, process dead): the next build takes its work over. */
  readonly holderGone?: string;
  /** When the holder claimed it (CLAIMED, BUILDING). */
  readonly claimedAt?: Timestamp;
  /** PENDING: how the build request that asked for it ended ("failed"), if it did. */
  readonly requesterEnded?: string;
  /** CLAIMED under `--launcher worker`: its job run was offered to the worker pool, and who took it, if anyone. */
  readonly offer?: OfferFacts;
}

/** Where an offered job run is: waiting for a worker, or taken by one. */
export interface OfferFacts {
  readonly jobRunId: string;
  readonly offeredAt?: Timestamp;
  readonly takenBy?: { readonly workerId: string; readonly hostname: string; readonly at?: Timestamp };
}

/**
 * What an explanation is read from: the read models every answer needs
 * (catalog, claims, build requests), loaded once for all refs, the events
 * of the one manifest and job run an answer names, read by position, and
 * what this host tells about holders' processes.
 */
export class LogFacts {
  private constructor(
    readonly log: EventLog,
    readonly host: HostProcesses,
    readonly view: SharedView = new SharedView(),
  ) {}

  /** Facts over a view kept live elsewhere (the service's LiveLog): nothing is loaded; never plan on it. */
  static over(log: EventLog, view: SharedView, host: HostProcesses = PROC_HOST): LogFacts {
    return new LogFacts(log, host, view);
  }

  get builds(): BuildRequests {
    return this.view.builds;
  }

  static async load(log: EventLog, note?: (text: string) => void, host: HostProcesses = PROC_HOST): Promise<LogFacts> {
    const facts = new LogFacts(log, host);
    await facts.view.load(log, { note });
    return facts;
  }

  jobRun(jobRunId: string): Promise<JobRunView | undefined> {
    return readJobRun(this.log, jobRunId);
  }

  /** The manifest of the partition's last successful build, read back from the log. */
  async manifest(entry: CatalogEntry | undefined): Promise<PartitionManifest | undefined> {
    if (!entry?.built) return undefined;
    const [logged] = await this.log.readAt([entry.built.offset]);
    return logged?.event.event.case === "partitionManifest" ? logged.event.event.value : undefined;
  }
}

/** The graph, or why it could not be loaded (the log alone still explains the state). */
export type GraphOrError = { graph: Graph } | { error: string };

/** Explains each ref from the log, then plans each (the plans see lost builds as taken over). */
export async function explainPartitions(
  facts: LogFacts,
  graph: GraphOrError,
  refs: readonly string[],
  nowMs = Date.now(),
  planning: Pick<ClaimPlanContext, "signal" | "configLimits"> = {},
): Promise<Explained[]> {
  const loaded = "graph" in graph ? graph.graph : undefined;
  const answers = await explainStates(facts, loaded, refs, nowMs);
  // Planning comes after every state is read: it changes the view in memory.
  if (!loaded) {
    for (const { explanation } of answers)
      explanation.wouldRunError = `cannot plan without the graph: ${"error" in graph ? graph.error : ""}`;
    return answers;
  }
  takeOverLostBuilds(facts.view, nowMs, facts.host);
  for (const { explanation } of answers) {
    try {
      const plan = await planAndClaim(
        {
          graph: loaded,
          log: facts.log,
          view: facts.view,
          buildRequestId: newId(),
          emit: () => {},
          flush: async () => {},
          host: facts.host,
          ...planning,
        },
        [explanation.partitionRef!.str],
        { dryRun: true },
      );
      explanation.wouldRun = plan.jobGraph.nodes;
    } catch (error) {
      // Planning failures (no job produces it, a config fails, a cycle) are part of the answer; a Ctrl-C is not.
      if (!isDatabuildError(error) || error instanceof AnalyzeCancelledError) throw error;
      explanation.wouldRunError = error.message;
    }
  }
  return answers;
}

/**
 * Each ref's state from the log alone, without planning: what `status`
 * shows, and the first half of `explain` (one answer for both commands).
 */
export async function explainStates(
  facts: LogFacts,
  graph: Graph | undefined,
  refs: readonly string[],
  nowMs = Date.now(),
): Promise<Explained[]> {
  const staleness = new Staleness(facts.view.catalog, (ref, builtBy) =>
    graph ? currentJob(graph, ref, builtBy) : undefined,
  );
  const answers: Explained[] = [];
  for (const ref of refs) answers.push(await explainState(facts, staleness, graph, ref, nowMs));
  return answers;
}

async function explainState(
  facts: LogFacts,
  staleness: Staleness,
  graph: Graph | undefined,
  ref: string,
  nowMs: number,
): Promise<Explained> {
  const { catalog, claims } = facts.view;
  const status = catalog.get(ref);
  const job = graph ? currentJob(graph, ref) : undefined;
  const explanation = create(PartitionExplanationSchema, {
    partitionRef: { str: ref },
    status: status ? partitionStatusView(ref, status, await facts.manifest(status)) : undefined,
    jobLabel: job?.label ?? "",
    jobVersion: job?.version ?? "",
  });
  const owner = claims.ownerOf(ref);
  if (owner) {
    // A claim outranks the catalog: a forced rebuild holds a partition that is still available.
    explanation.claimedBy =
      facts.builds.get(owner.buildRequestId) ??
      create(BuildRequestViewSchema, { buildRequestId: owner.buildRequestId });
    explanation.claimedByLastHeartbeat = timestampAtMs(owner.lastSeenMs);
    explanation.delegatedBy = claims.waitersOn(owner.buildRequestId, ref);
    const run = [...owner.openRuns.values()].find((r) => r.task?.config?.outputs.some((o) => o.str === ref));
    explanation.state = run?.launched ? PartitionState.BUILDING : PartitionState.CLAIMED;
    if (run) explanation.jobRun = await facts.jobRun(run.jobRunId);
    return {
      explanation,
      holderGone: whyLost(claims, owner, nowMs, facts.host),
      claimedAt: await claimedAt(facts.log, owner.buildRequestId, ref),
      offer: run && !run.launched ? await offerFacts(facts.log, run.jobRunId) : undefined,
    };
  }
  if (!status) {
    explanation.state = PartitionState.NEVER_REQUESTED;
    return { explanation };
  }
  switch (status.status) {
    case PartitionStatus.PARTITION_AVAILABLE: {
      explanation.staleReasons = [...staleness.reasons(ref)];
      explanation.state = explanation.staleReasons.length > 0 ? PartitionState.STALE : PartitionState.AVAILABLE;
      explanation.jobRun = await facts.jobRun(status.jobRunId);
      break;
    }
    case PartitionStatus.PARTITION_INVALIDATED:
      explanation.state = PartitionState.INVALIDATED;
      break;
    case PartitionStatus.PARTITION_REQUESTED:
    case PartitionStatus.PARTITION_DELEGATED: {
      explanation.state = PartitionState.PENDING;
      const asker = facts.builds.get(status.buildRequestId);
      const ended = asker && facts.builds.ended(asker.buildRequestId) ? BuildRequestStatus[asker.status] : undefined;
      return { explanation, requesterEnded: ended?.replace("BUILD_REQUEST_", "").toLowerCase() };
    }
    default: {
      // FAILED; or SCHEDULED/BUILDING left by a build that ended without a
      // verdict for it (nobody holds it now): failed if its job run did.
      const run = await facts.jobRun(status.jobRunId);
      // A partition blocked by an upstream failure keeps the job run of its
      // previous build in the catalog: only a failed run is the culprit.
      const failedRun = run?.status === JobRunStatus.JOB_RUN_FAILED ? run : undefined;
      const failed = status.status === PartitionStatus.PARTITION_FAILED || failedRun !== undefined;
      explanation.state = failed ? PartitionState.FAILED : PartitionState.PENDING;
      if (failedRun) {
        explanation.jobRun = failedRun;
        explanation.stderrTail = await stderrTail(facts.log, failedRun.jobRunId);
      }
    }
  }
  return { explanation };
}

/** When `buildRequestId` claimed `ref` (the latest claim naming it). */
async function claimedAt(log: EventLog, buildRequestId: string, ref: string): Promise<Timestamp | undefined> {
  const events = await log.read(0, { buildRequestId, kinds: ["partitionsClaimed"] });
  let at: Timestamp | undefined;
  for (const { event } of events)
    if (event.event.case === "partitionsClaimed" && event.event.value.partitions.some((p) => p.str === ref))
      at = event.timestamp;
  return at;
}

/** Whether `jobRunId` was offered to the worker pool, and taken (read by its job run id: a few events). */
async function offerFacts(log: EventLog, jobRunId: string): Promise<OfferFacts | undefined> {
  const events = await log.read(0, { jobRunId, kinds: ["jobRunOffered", "jobRunTaken"] });
  const offered = events.find((e) => e.event.event.case === "jobRunOffered");
  if (!offered) return undefined;
  const taken = events.find((e) => e.event.event.case === "jobRunTaken")?.event;
  const take = taken?.event.case === "jobRunTaken" ? taken.event.value : undefined;
  return {
    jobRunId,
    offeredAt: offered.event.timestamp,
    takenBy: take && { workerId: take.workerId, hostname: take.hostname, at: taken?.timestamp },
  };
}

/** The last stderr lines a failed job run left (kept on its taskFailed event, not in the JobRunView). */
async function stderrTail(log: EventLog, jobRunId: string): Promise<string[]> {
  const events = await log.read(0, { jobRunId, kinds: ["taskFailed"] });
  const last = events.at(-1)?.event.event;
  return last?.case === "taskFailed" ? [...last.value.stderrTail] : [];
}

/**
 * Applies, in memory only, what the next build would record first: every
 * build request that is gone (lease expired, process dead) declared lost, its
 * claims released. Then a dry-run plan answers what that build would run.
 */
function takeOverLostBuilds(view: SharedView, nowMs: number, host: HostProcesses): void {
  const me = newId();
  for (const lease of [...view.claims.liveLeases()]) {
    const lost = decideLost(view.claims, lease.buildRequestId, me, nowMs, host);
    if (!lost) continue;
    view.applyAppended(
      lost.events,
      lost.events.map((_, i) => view.cursor + 1 + i),
      view.cursor + lost.events.length,
    );
  }
}
