/**
 * @module The decisions a build request takes inside one atomic append
 * (EventLog.appendAtomically), on a SharedView brought up to date by the
 * same transaction: claiming the partitions it plans to build, and declaring
 * a silent or dead build request lost so its claims can be taken over.
 */
import { create } from "@bufbuild/protobuf";
import {
  BuildRequestStatus,
  DelegationReason,
  ExitCategory,
  PartitionRefSchema,
  PartitionStatus,
  type BuildEvent,
  type PartitionRef,
} from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import { partitionStatusChanged } from "../core/hot-payloads.ts";
import { newEvent } from "../core/new-event.ts";
import type { Lease } from "../core/projections/claims.ts";
import type { SharedView } from "./shared-view.ts";
import { timestampAtMs } from "../core/timestamp.ts";

const ref = (str: string): PartitionRef => create(PartitionRefSchema, { str });

export interface ClaimRequest {
  readonly buildRequestId: string;
  /** Outputs of the tasks this build plans to run. */
  readonly owned: readonly string[];
  /** For each owned partition, the job run of its available manifest when the plan was made ("" if none). */
  readonly builtWhenPlanned: ReadonlyMap<string, string>;
  /** Partitions it will wait on instead, with the build request that holds each. */
  readonly delegated: ReadonlyMap<string, string>;
  /** Needed partitions that are available, with the build request that built each. */
  readonly available: ReadonlyMap<string, { buildRequestId: string; jobRunId: string }>;
}

export type ClaimOutcome =
  { readonly ok: true; readonly events: BuildEvent[] } | { readonly ok: false; readonly conflict: string };

/**
 * Checks the plan against the log as it is now and returns the events that
 * claim and delegate, or the conflict that makes the plan stale (another
 * build request claimed or built one of its partitions after the plan was
 * made, or a delegate let go of one): the caller plans again.
 */
export function decideClaims(view: SharedView, request: ClaimRequest): ClaimOutcome {
  const me = request.buildRequestId;
  const owned = new Set(request.owned);
  for (const r of owned) {
    if ((view.catalog.available(r)?.jobRunId ?? "") !== (request.builtWhenPlanned.get(r) ?? ""))
      return { ok: false, conflict: `${r} was built meanwhile` };
  }
  for (const r of owned) {
    const owner = view.claims.ownerOf(r);
    if (owner && owner.buildRequestId !== me)
      return { ok: false, conflict: `${r} was claimed meanwhile by build request ${owner.buildRequestId}` };
  }
  const delegations: BuildEvent[] = [];
  for (const [r, delegate] of request.delegated) {
    const owner = view.claims.ownerOf(r);
    if (!owner) {
      if (view.catalog.available(r)) continue; // finished meanwhile: nothing to wait for
      return { ok: false, conflict: `${r} is no longer claimed by build request ${delegate}` };
    }
    delegations.push(
      newEvent(
        { buildRequestId: me },
        payload("partitionDelegated", {
          partitionRef: ref(r),
          delegateBuildRequestId: owner.buildRequestId,
          reason: DelegationReason.IN_PROGRESS,
        }),
      ),
    );
  }
  const events: BuildEvent[] = [];
  if (owned.size > 0)
    events.push(newEvent({ buildRequestId: me }, payload("partitionsClaimed", { partitions: [...owned].map(ref) })));
  events.push(...delegations);
  for (const [r, by] of request.available) {
    events.push(
      newEvent(
        { buildRequestId: me },
        payload("partitionDelegated", {
          partitionRef: ref(r),
          delegateBuildRequestId: by.buildRequestId,
          delegateJobRunId: by.jobRunId,
          reason: DelegationReason.ALREADY_AVAILABLE,
        }),
      ),
    );
  }
  return { ok: true, events };
}

/**
 * The events that declare `lease`'s build request lost, recorded under its
 * id: its running job runs failed with EXIT_LOST (a job whose owner died is
 * never reported as a success), the partitions they were building failed,
 * its claims released, and the request ended with BUILD_REQUEST_LOST.
 */
export function lostBuildEvents(lease: Lease, detectedBy: string, reason: string, nowMs: number): BuildEvent[] {
  const scope = { buildRequestId: lease.buildRequestId };
  const message = `build request ${lease.buildRequestId} was lost: ${reason}`;
  const runs = [...lease.openRuns.values()];
  const events: BuildEvent[] = [
    newEvent(
      scope,
      payload("buildRequestLost", {
        detectedByBuildRequestId: detectedBy,
        reason,
        lastHeartbeat: timestampAtMs(lease.lastSeenMs),
        lostJobRunIds: runs.map((r) => r.jobRunId),
        releasedPartitions: [...lease.claims].map(ref),
      }),
      nowMs,
    ),
  ];
  for (const run of runs) {
    const runScope = { ...scope, jobRunId: run.jobRunId };
    const lost = `job run ${run.jobRunId} was lost with its build request (${reason})${run.launched ? `; it ran as process ${run.pid} on ${run.hostname}` : ""}`;
    // Its job.exec path ends where it was cut off: after the launch, the task failed;
    // after the config was validated but before the launch, the launch failed.
    if (run.launched) {
      events.push(
        newEvent(runScope, payload("taskFailed", { category: ExitCategory.EXIT_LOST, message: lost }), nowMs),
        newEvent(runScope, payload("jobExecFail", { category: ExitCategory.EXIT_LOST, message: lost }), nowMs),
      );
    } else if (run.validated) {
      events.push(
        newEvent(runScope, payload("taskLaunchFail", { task: run.task, message: lost }), nowMs),
        newEvent(runScope, payload("jobExecFail", { category: ExitCategory.EXIT_LOST, message: lost }), nowMs),
      );
    }
    events.push(
      newEvent(
        runScope,
        payload("jobFailure", { task: run.task, category: ExitCategory.EXIT_LOST, message: lost }),
        nowMs,
      ),
    );
    for (const output of run.task?.config?.outputs ?? [])
      events.push(
        newEvent(
          runScope,
          partitionStatusChanged(output, PartitionStatus.PARTITION_FAILED, run.jobRunId, `lost: ${reason}`),
          nowMs,
        ),
      );
  }
  events.push(
    newEvent(scope, payload("graphBuildFail", { message }), nowMs),
    newEvent(
      scope,
      payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_LOST, message }),
      nowMs,
    ),
  );
  return events;
}
