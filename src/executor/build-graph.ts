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
 *      durable only after the producer's (see `release`). A failure
 *      is retried (retryable categories, with backoff) or fails its task:
 *      then either everything running is cancelled (emit_job_failure,
 *      emit_job_cancels) or, with keepGoing, only its downstream is blocked.
 *   4. Stop when nothing runs, is due or (unless cancelling) is ready. Tasks
 *      still waiting then are unschedulable.
 */
import { BuildRequestStatus, DelegationReason, DepType, PartitionStatus, type JobGraph } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import { AnalyzeError } from "../core/errors.ts";
import { partitionStatusChanged } from "../core/hot-payloads.ts";
import { newId } from "../core/ids.ts";
import type { EventLog } from "../core/event-log.ts";
import type { Graph } from "../core/graph.ts";
import type { JobRunner } from "../core/job-runner.ts";
import { PARTITION_CATALOG_KINDS, PartitionCatalog } from "../core/projections/partition-catalog.ts";
import { analyze } from "../planner/analyze.ts";
import { BuildPlan } from "./build-plan.ts";
import { BuildRun } from "./build-run.ts";
import type { BuildRequest, BuildResult } from "./build-request.ts";
import { EventRecorder, type EventObserver } from "./event-recorder.ts";
import { loadProjection } from "./load-projection.ts";

export interface BuildDependencies {
  readonly graph: Graph;
  readonly log: EventLog;
  readonly runner: JobRunner;
  /** See every event as it is recorded (progress display). */
  readonly observers?: readonly EventObserver[];
}

/** Runs one build request to its end. Never throws for a failed build: see `status`. */
export async function buildGraph(deps: BuildDependencies, request: BuildRequest): Promise<BuildResult> {
  const buildRequestId = request.buildRequestId ?? newId();
  const recorder = new EventRecorder(request.dryRun ? undefined : deps.log, request.dryRun ? [] : deps.observers);
  const scope = { buildRequestId };
  const refs = [...new Set(request.refs)];

  recorder.emit(
    scope,
    payload("buildRequestReceived", {
      requestedPartitions: refs.map((str) => ({ str })),
      graphLabel: deps.graph.label,
      requester: request.requester,
      options: {
        parallel: request.parallel,
        keepGoing: request.keepGoing,
        force: request.force,
        dryRun: request.dryRun,
      },
    }),
  );
  recorder.emit(scope, payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_PLANNING }));
  for (const ref of refs) {
    recorder.emit(
      scope,
      payload("partitionStatusChanged", { partitionRef: { str: ref }, status: PartitionStatus.PARTITION_REQUESTED }),
    );
  }

  const catalog = new PartitionCatalog();
  await loadProjection(deps.log, catalog, PARTITION_CATALOG_KINDS);
  const forced = new Set(request.force ? refs : []);
  const isAvailable = (ref: string) => !forced.has(ref) && catalog.availableManifest(ref) !== undefined;

  let jobGraph: JobGraph;
  try {
    jobGraph = await analyze(deps.graph, refs, { emit: (p) => recorder.emit(scope, p), isAvailable });
  } catch (error) {
    if (!(error instanceof AnalyzeError)) throw error;
    // Requested partitions nobody has built stay REQUESTED otherwise, as if pending.
    for (const ref of refs) {
      if (catalog.get(ref) !== undefined) continue;
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
  }

  const plan = new BuildPlan(jobGraph);
  const skipped = skippedRefs(refs, plan);
  for (const ref of skipped) {
    const manifest = catalog.availableManifest(ref);
    recorder.emit(
      scope,
      payload("partitionDelegated", {
        partitionRef: { str: ref },
        delegateBuildRequestId: manifest?.buildRequestId ?? "",
        delegateJobRunId: manifest?.jobRunId ?? "",
        reason: DelegationReason.ALREADY_AVAILABLE,
      }),
    );
  }
  if (request.dryRun) {
    return {
      ...emptyResult(buildRequestId, "dry-run", `dry run: ${plan.size} tasks would run`),
      jobGraph,
      tasksToRun: plan.size,
      partitionsSkipped: skipped.length,
    };
  }
  recorder.emit(scope, payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_EXECUTING }));

  const run = new BuildRun(deps, request, recorder, buildRequestId, plan, catalog);
  const outcome = await run.execute();
  const result: BuildResult = { ...outcome, jobGraph, partitionsSkipped: skipped.length };
  await recorder.durable();
  return result;
}

/** Requested refs and inputs that no planned task produces: they were available. */
function skippedRefs(refs: readonly string[], plan: BuildPlan): string[] {
  const skipped = new Set<string>();
  for (const ref of refs) if (!plan.producerOf.has(ref)) skipped.add(ref);
  for (const task of plan.tasks) {
    for (const input of task.config!.inputs) {
      const ref = input.partitionRef!.str;
      if (input.depType !== DepType.QUERY && !plan.producerOf.has(ref)) skipped.add(ref);
    }
  }
  return [...skipped];
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
    failures: [],
    blocked: [],
    message,
    ...extra,
  };
}
