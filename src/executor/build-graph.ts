/**
 * @module graph.build (seed diagram): analyze, skip what is available, run
 * the remaining tasks in parallel and record every transition in the build
 * event log.
 *
 * Shape of the loop (after ninja's Builder::Build):
 *   1. Start ready tasks while fewer than `parallel` run (emit_remaining_jobs,
 *      schedule_jobs).
 *   2. Sleep until a job ends, a retry is due, the build is cancelled or the
 *      heartbeat period passes (await_jobs, emit_heartbeat).
 *   3. Reap ended jobs. A success releases its dependents at once: no job is
 *      handed an input before its producer exited 0 and its manifest was
 *      recorded, and the log's append order makes the consumer's manifest
 *      durable only after the producer's (see `BuildRun.release`). A failure
 *      is retried (retryable categories, with backoff) or fails its task:
 *      then either everything running is cancelled (emit_job_failure,
 *      emit_job_cancels) or, with keepGoing, only its downstream is blocked.
 *   4. Stop when nothing runs, is due or (unless cancelling) is ready or
 *      awaited from another build request. Tasks still waiting then are
 *      unschedulable.
 *
 * While it plans, the build heartbeats (its lease must not lapse while slow
 * configs run) and a cancel stops the running config calls and records the
 * build request CANCELLED, as a cancel while executing does.
 *
 * Exactly once across build requests (src/coordination/, delegations.ts):
 * the plan treats partitions another live build request holds as leaves,
 * claims its own outputs atomically, and waits for the delegated ones,
 * taking them over if their holder lets go of them or is lost.
 */
import { BuildRequestStatus, PartitionStatus, type BuildEvent } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import { AnalyzeError } from "../core/errors.ts";
import { AnalyzeCancelledError } from "../planner/analyze.ts";
import { partitionStatusChanged } from "../core/hot-payloads.ts";
import { newId } from "../core/ids.ts";
import type { EventLog } from "../core/event-log.ts";
import { BuildPlan } from "./build-plan.ts";
import { BuildRun } from "./build-run.ts";
import type { BuildDependencies, BuildRequest, BuildResult } from "./build-request.ts";
import { CancelWatch } from "./cancel-watch.ts";
import { EventRecorder } from "./event-recorder.ts";
import {
  loadForBuild,
  markRunningHere,
  planAndClaim,
  PROC_HOST,
  reapLostBuilds,
  SharedView,
  SNAPSHOT_AFTER_EVENTS,
  type ClaimedPlan,
  type ClaimPlanContext,
  type HostProcesses,
} from "../coordination/index.ts";

export type { BuildDependencies } from "./build-request.ts";

/** The BuildRequestReceived that starts `request`'s events (recorded by the build, or by its caller: `receivedRecorded`). */
export function buildRequestReceivedPayload(
  graphLabel: string,
  request: BuildRequest,
  host: Pick<HostProcesses, "hostname" | "pid"> = PROC_HOST,
): BuildEvent["event"] {
  return payload("buildRequestReceived", {
    requestedPartitions: [...new Set(request.refs)].map((str) => ({ str })),
    graphLabel,
    requester: request.requester,
    options: {
      parallel: request.parallel,
      keepGoing: request.keepGoing,
      force: request.force,
      dryRun: request.dryRun,
      heartbeatIntervalMs: request.heartbeatMs,
      heartbeatTimeoutMs: request.heartbeatTimeoutMs,
    },
    hostname: host.hostname,
    pid: host.pid,
    wantKey: request.received?.wantKey ?? "",
    origin: request.received?.origin ?? "",
    trigger: request.received?.trigger ?? "",
    continuesBuildRequestId: request.received?.continuesBuildRequestId ?? "",
  });
}

/**
 * Runs one build request to its end. Never throws for a failed build: see
 * `status`. A CancelRequested of the build logged by any process (the
 * service's CancelBuildRequest) cancels it as `request.signal` does.
 */
export async function buildGraph(deps: BuildDependencies, request: BuildRequest): Promise<BuildResult> {
  const buildRequestId = request.buildRequestId ?? newId();
  if (request.dryRun) return runBuild(deps, { ...request, buildRequestId });
  const cancelWatch = new CancelWatch(deps.log, buildRequestId);
  const signals = request.signal ? [request.signal, cancelWatch.signal] : [cancelWatch.signal];
  const done = markRunningHere(buildRequestId);
  try {
    return await runBuild(deps, { ...request, buildRequestId, signal: AbortSignal.any(signals) });
  } finally {
    done();
    cancelWatch.stop();
  }
}

async function runBuild(
  deps: BuildDependencies,
  request: BuildRequest & { buildRequestId: string },
): Promise<BuildResult> {
  const { buildRequestId } = request;
  const host = deps.host ?? PROC_HOST;
  // The build's one live view of the log: loaded once (or the caller's, live), then kept up by its appends and watch.
  const view = deps.view ?? new SharedView();
  let onLost: (detectedBy: string, reason: string) => void = () => {};
  let onAppendFailed: () => void = () => {};
  const recorder = new EventRecorder(request.dryRun ? undefined : deps.log, request.dryRun ? [] : deps.observers, {
    buildRequestId,
    onLost: (detectedBy, reason) => onLost(detectedBy, reason),
    onAppendFailed: () => onAppendFailed(),
    onDurable: (events, offsets) => view.noteOwn(events, offsets),
    // A database server restarting for a few seconds need not stop the build: within half its
    // lease nobody can have declared it lost (and the fence would refuse the batch if they had).
    retryUnavailableMs: request.heartbeatTimeoutMs / 2,
    // A worker waits for it (--launcher worker).
    urgentKinds: new Set(["jobRunOffered"]),
  });
  const scope = { buildRequestId };
  const refs = [...new Set(request.refs)];

  if (!request.receivedRecorded) recorder.emit(scope, buildRequestReceivedPayload(deps.graph.label, request, host));
  recorder.emit(scope, payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_PLANNING }));
  for (const ref of refs) {
    recorder.emit(
      scope,
      payload("partitionStatusChanged", { partitionRef: { str: ref }, status: PartitionStatus.PARTITION_REQUESTED }),
    );
  }

  const context: ClaimPlanContext = {
    graph: deps.graph,
    log: deps.log,
    view,
    buildRequestId,
    emit: (p) => recorder.emit(scope, p),
    flush: () => recorder.durable(),
    observe: (events) => {
      for (const observe of deps.observers ?? []) for (const event of events) observe(event);
    },
    signal: request.signal,
    configLimits: request.configLimits,
    host,
  };

  // The lease holds while planning too (configs may take minutes); BuildRun heartbeats once it runs.
  const planningHeartbeat = request.dryRun
    ? undefined
    : setInterval(() => recorder.emit(scope, payload("buildHeartbeat", { runningJobs: 0 })), request.heartbeatMs);
  let claimed: ClaimedPlan;
  try {
    // One read of the log since the snapshots, for every read model: the build
    // leaves fresh snapshots behind for the commands after it. A live view only catches up.
    if (deps.view) await view.refresh(deps.log);
    else await loadForBuild(deps.log, view);
    if (!request.dryRun) await reapLostBuilds(deps.log, view, buildRequestId, host);
    claimed = await planAndClaim(context, refs, { forced: new Set(request.force ? refs : []), dryRun: request.dryRun });
  } catch (error) {
    if (error instanceof AnalyzeCancelledError) {
      // As a cancel while executing: nothing was claimed, nothing ran; the requested partitions stay requested.
      const message = `the build was cancelled while planning (${error.reason}); no job had started`;
      recorder.emit(scope, payload("graphBuildFail", { message }));
      recorder.emit(
        scope,
        payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_CANCELLED, message }),
      );
      await recorder.durable();
      return emptyResult(buildRequestId, "cancelled", message);
    }
    if (!(error instanceof AnalyzeError)) throw error;
    // Requested partitions nobody has built stay REQUESTED otherwise, as if pending.
    for (const ref of refs) {
      // Each gets this failure as its latest word, unless it is available or another
      // build request holds it (a FAILED from here would fail that build's waiters).
      if (view.catalog.available(ref) !== undefined) continue;
      const holder = view.claims.ownerOf(ref);
      if (holder && holder.buildRequestId !== buildRequestId && !holder.ended) continue;
      recorder.emit(
        scope,
        partitionStatusChanged(
          { $typeName: "databuild.v1.PartitionRef", str: ref },
          PartitionStatus.PARTITION_FAILED,
          "",
          `not planned: ${error.message}`,
        ),
      );
    }
    recorder.emit(scope, payload("graphBuildFail", { message: error.message }));
    recorder.emit(
      scope,
      payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_FAILED, message: error.message }),
    );
    await recorder.durable();
    return emptyResult(buildRequestId, "failed", error.message, { analyzeError: error });
  } finally {
    clearInterval(planningHeartbeat);
  }

  const { jobGraph, delegated, available } = claimed;
  const plan = new BuildPlan(jobGraph, new Set(delegated.keys()));
  if (request.dryRun) {
    const waiting = delegated.size > 0 ? `; ${delegated.size} partitions are being built by other build requests` : "";
    return {
      ...emptyResult(buildRequestId, "dry-run", `dry run: ${plan.size} tasks would run${waiting}`),
      jobGraph,
      tasksToRun: plan.size,
      partitionsSkipped: available.size,
      partitionsDelegated: delegated.size,
    };
  }
  recorder.emit(scope, payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_EXECUTING }));
  const functionTasks = jobGraph.nodes.filter(
    (task) => deps.graph.job(task.job!.label)?.exec.kind === "function",
  ).length;
  if (functionTasks > 0) deps.runner.warm?.(Math.min(request.parallel, functionTasks));

  const run = new BuildRun(deps, request, recorder, buildRequestId, plan, view, context, delegated);
  onLost = (detectedBy, reason) => run.onDeclaredLost(detectedBy, reason);
  onAppendFailed = () => run.wake();
  const outcome = await run.execute(claimed.fresh);
  const result: BuildResult = { ...outcome, jobGraph, partitionsSkipped: available.size };
  await recorder.durable();
  // Declared lost while finishing: the last events (maybe manifests) were refused.
  const lost = run.lostMessage;
  // What it says of its jobs was not recorded either (a job killed by the build that took over looks like a crash).
  if (lost !== undefined) return { ...result, status: "failed", message: lost, failures: [], blocked: [] };
  await leaveSnapshot(deps.log, view, buildRequestId, deps.snapshotAfterEvents ?? SNAPSHOT_AFTER_EVENTS);
  return result;
}

/**
 * Brings the view up to the build's own last event and snapshots it, so the
 * command after a build reads no tail. (The log serves events this process
 * appended without decoding them again.) A cache: failing to write it loses
 * nothing but time, and never fails the build.
 */
async function leaveSnapshot(
  log: EventLog,
  view: SharedView,
  buildRequestId: string,
  snapshotAfter: number,
): Promise<void> {
  try {
    await view.catchUpWith(log, buildRequestId);
    if (view.unsnapshotted >= snapshotAfter) await view.snapshot(log);
  } catch {
    // The next build snapshots at its start instead.
  }
}

function emptyResult(
  buildRequestId: string,
  status: BuildResult["status"],
  message: string,
  extra: Partial<BuildResult> = {},
): BuildResult {
  return {
    buildRequestId,
    status,
    tasksToRun: 0,
    jobsSucceeded: 0,
    jobsFailed: 0,
    partitionsBuilt: 0,
    partitionsSkipped: 0,
    partitionsDelegated: 0,
    partitionsTakenOver: 0,
    failures: [],
    blocked: [],
    delegateFailures: [],
    message,
    ...extra,
  };
}
