/**
 * @module Planning under claims: analyze what is needed, treating partitions
 * that are available (and not stale), claimed by another live build request,
 * or already in this build's plan as leaves; then claim the planned outputs
 * and record the delegations in one atomic append. If the log moved under
 * the plan (another build request claimed or built a planned partition, or a
 * delegate let one go), plan again from the updated view.
 */
import { DepType, type BuildEvent, type JobGraph } from "../gen/databuild_pb.ts";
import type { EventPayload } from "../core/build-event.ts";
import type { EventLog, LoggedEvent } from "../core/event-log.ts";
import type { Graph } from "../core/graph.ts";
import { Staleness, type CurrentJob } from "../core/staleness.ts";
import type { ConfigLimits, JobDefinition } from "../core/job.ts";
import { abortReason, analyze, AnalyzeCancelledError } from "../planner/analyze.ts";
import { decideClaims, type ClaimRequest } from "./claim-decisions.ts";
import { declareLost } from "./declare-lost.ts";
import type { HostProcesses } from "./host-processes.ts";
import { whyLost } from "./liveness.ts";
import { SHARED_VIEW_FILTER, type SharedView } from "./shared-view.ts";

const MAX_ATTEMPTS = 50;
const CONTESTED_POLL_MS = 200;

export interface ClaimPlanContext {
  readonly graph: Graph;
  readonly log: EventLog;
  readonly view: SharedView;
  readonly buildRequestId: string;
  readonly emit: (payload: EventPayload) => void;
  /** Makes every event emitted so far durable (claims go after the analysis that led to them). */
  readonly flush: () => Promise<void>;
  /** Shows the claim and delegation events once appended (they bypass the recorder). */
  readonly observe?: (events: readonly BuildEvent[]) => void;
  /** Cancels planning (Ctrl-C): running config calls are stopped and AnalyzeCancelledError is thrown. */
  readonly signal?: AbortSignal;
  /** Config limits for jobs that set none (`--config-timeout`, `--config-max-output`). */
  readonly configLimits?: Partial<ConfigLimits>;
  /** What this host tells about holders' processes (default: /proc). */
  readonly host?: HostProcesses;
}

export interface ClaimedPlan {
  readonly jobGraph: JobGraph;
  /** Partitions to wait for, with the build request producing each. */
  readonly delegated: Map<string, string>;
  /** Needed partitions that are available as they are. */
  readonly available: Map<string, { buildRequestId: string; jobRunId: string }>;
  /** Events the view took in while claiming, for the caller to react to. */
  readonly fresh: LoggedEvent[];
}

export interface ClaimPlanOptions {
  /** Rebuild these even if available. */
  readonly forced?: ReadonlySet<string>;
  /** Partitions this build already plans to produce (a takeover adds to a running plan). */
  readonly planned?: (ref: string) => boolean;
  /** Plan only: no claims, nothing appended. */
  readonly dryRun?: boolean;
}

/** Plans `refs` and claims the plan. Throws AnalyzeError when analysis fails (AnalyzeCancelledError when cancelled). */
export async function planAndClaim(
  ctx: ClaimPlanContext,
  refs: readonly string[],
  options: ClaimPlanOptions = {},
): Promise<ClaimedPlan> {
  const { view, buildRequestId: me } = ctx;
  const fresh: LoggedEvent[] = [];
  let lastConflict = "";
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const staleness = new Staleness(view.catalog, (ref, builtBy) => currentJob(ctx.graph, ref, builtBy));
    const now = Date.now();
    const gone = new Map<string, boolean>(); // per holder: liveness costs a syscall, refs are many
    const heldByOther = (ref: string) => {
      const owner = view.claims.ownerOf(ref);
      if (!owner || owner.buildRequestId === me) return undefined;
      // A dry run records nothing, so it cannot declare a dead holder lost; it plans as the real build would.
      if (options.dryRun) {
        let isGone = gone.get(owner.buildRequestId);
        if (isGone === undefined)
          gone.set(owner.buildRequestId, (isGone = whyLost(view.claims, owner, now, ctx.host) !== undefined));
        if (isGone) return undefined;
      }
      return owner;
    };
    const planned = options.planned ?? (() => false);
    const isLeaf = (ref: string) =>
      planned(ref) || heldByOther(ref) !== undefined || (!options.forced?.has(ref) && staleness.isUsable(ref));
    const jobGraph = await analyze(ctx.graph, refs, {
      emit: ctx.emit,
      isAvailable: isLeaf,
      signal: ctx.signal,
      configLimits: ctx.configLimits,
    });

    // A job whose config batches a partition another build request holds
    // would build it twice: wait for that build request first.
    const contested = jobGraph.nodes.flatMap((t) => t.config!.outputs.map((o) => o.str)).filter((r) => heldByOther(r));
    if (contested.length > 0 && !options.dryRun) {
      fresh.push(...(await waitUntilReleased(ctx, contested)));
      lastConflict = `${contested[0]} is held by another build request`;
      continue;
    }

    const produced = new Set<string>();
    for (const task of jobGraph.nodes) for (const o of task.config!.outputs) produced.add(o.str);
    // What the plan saw: a partition built after this (by anyone) makes the plan stale.
    const builtWhenPlanned = new Map<string, string>();
    for (const ref of produced) builtWhenPlanned.set(ref, view.catalog.available(ref)?.jobRunId ?? "");
    const delegated = new Map<string, string>();
    const available = new Map<string, { buildRequestId: string; jobRunId: string }>();
    const classify = (ref: string) => {
      if (produced.has(ref) || planned(ref) || delegated.has(ref) || available.has(ref)) return;
      const owner = heldByOther(ref);
      if (owner) delegated.set(ref, owner.buildRequestId);
      else {
        const manifest = view.catalog.available(ref);
        if (manifest) available.set(ref, { buildRequestId: manifest.buildRequestId, jobRunId: manifest.jobRunId });
      }
    };
    for (const ref of refs) classify(ref);
    for (const task of jobGraph.nodes)
      for (const input of task.config!.inputs)
        if (input.depType === DepType.MATERIALIZE) classify(input.partitionRef!.str);
    if (options.dryRun) return { jobGraph, delegated, available, fresh };

    await ctx.flush();
    // Catch up outside the write lock, so the transaction only reads what arrived since.
    fresh.push(...(await view.refresh(ctx.log)));
    const request: ClaimRequest = { buildRequestId: me, owned: [...produced], builtWhenPlanned, delegated, available };
    let appended: BuildEvent[] = [];
    const outcome = await ctx.log.appendAtomically(view.cursor, SHARED_VIEW_FILTER, (events) => {
      const seen = view.apply(events);
      fresh.push(...seen);
      const decision = decideClaims(view, request);
      if (!decision.ok) {
        lastConflict = decision.conflict;
        appended = [];
        return { append: [], result: false };
      }
      appended = decision.events;
      return { append: appended, result: true };
    });
    fresh.push(...view.applyAppended(appended, outcome.offsets, outcome.head));
    if (outcome.result) {
      ctx.observe?.(appended);
      return { jobGraph, delegated, available, fresh };
    }
  }
  throw new Error(`could not claim a plan after ${MAX_ATTEMPTS} attempts; last conflict: ${lastConflict}`);
}

/** Waits until no other live build request holds any of `refs` (declaring dead holders lost). */
async function waitUntilReleased(ctx: ClaimPlanContext, refs: readonly string[]): Promise<LoggedEvent[]> {
  const fresh: LoggedEvent[] = [];
  for (;;) {
    const holders = new Set(
      refs.map((r) => ctx.view.claims.ownerOf(r)).filter((o) => o && o.buildRequestId !== ctx.buildRequestId),
    );
    if (holders.size === 0) return fresh;
    for (const holder of holders)
      if (holder && whyLost(ctx.view.claims, holder, Date.now(), ctx.host))
        fresh.push(...(await declareLost(ctx.log, ctx.view, ctx.buildRequestId, holder.buildRequestId, ctx.host)));
    await new Promise((resolve) => setTimeout(resolve, CONTESTED_POLL_MS));
    if (ctx.signal?.aborted) throw new AnalyzeCancelledError(abortReason(ctx.signal));
    fresh.push(...(await ctx.view.refresh(ctx.log)));
  }
}

/** What `currentJob` answers for each job of a graph (one object per job, not per ref: staleness asks for every partition). */
const currentJobs = new WeakMap<Graph, Map<JobDefinition, NonNullable<ReturnType<CurrentJob>>>>();

/** The job producing `ref` in the graph now, with its version (for staleness). */
export function currentJob(graph: Graph, ref: string, builtBy?: string): ReturnType<CurrentJob> {
  let job: JobDefinition | undefined;
  try {
    job = graph.matchOf(ref, builtBy)?.job;
  } catch {
    return undefined; // ambiguous: analysis reports it
  }
  if (!job) return undefined;
  let byJob = currentJobs.get(graph);
  if (!byJob) currentJobs.set(graph, (byJob = new Map()));
  let current = byJob.get(job);
  if (!current) byJob.set(job, (current = { label: job.label, version: job.version, graphLabel: graph.label }));
  return current;
}
