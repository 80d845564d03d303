/**
 * @module The end of a build's execution: tasks that could never run are
 * reported unschedulable (their outputs FAILED), then the build request's
 * final events (graphBuildSuccess and COMPLETED, or graphBuildFail and
 * FAILED or CANCELLED) and the result the caller reports. A build declared
 * lost records nothing more: the build request that declared it did.
 */
import { BuildRequestStatus, PartitionStatus, type Task } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import { plural } from "../core/plural.ts";
import type { BuildResult, DelegateFailure, FailedJob } from "./build-request.ts";
import type { Cancellation } from "./cancellation.ts";
import type { RunState } from "./run-state.ts";

/** What the execution did, for its result. */
export interface RunTally {
  readonly jobsSucceeded: number;
  readonly partitionsBuilt: number;
  readonly failures: readonly FailedJob[];
  readonly delegateFailures: readonly DelegateFailure[];
  /** Awaited partitions that other build requests delivered. */
  readonly deliveredByOthers: number;
  /** Awaited partitions this build took over. */
  readonly takenOver: number;
  /** Set when another build request declared this one lost. */
  readonly lostMessage: string | undefined;
}

export type RunResult = Omit<BuildResult, "jobGraph" | "partitionsSkipped">;

/** Records the end of the build (see the module comment) and returns its result. */
export function finishRun(state: RunState, cancellation: Cancellation, tally: RunTally): RunResult {
  const { plan } = state;
  const { failures, delegateFailures, jobsSucceeded, partitionsBuilt } = tally;
  const blocked: { task: Task; reason: string }[] = [];
  for (const [index, reason] of state.blockedBy) blocked.push({ task: plan.tasks[index]!, reason });
  if (!cancellation.cancelled) {
    for (const index of plan.waitingTasks())
      blocked.push({ task: plan.tasks[index]!, reason: "its inputs can never be produced" });
  }
  const counts = {
    buildRequestId: state.buildRequestId,
    tasksToRun: plan.size,
    jobsSucceeded,
    jobsFailed: failures.length,
    partitionsBuilt,
    partitionsDelegated: tally.deliveredByOthers,
    partitionsTakenOver: tally.takenOver,
    failures,
    blocked,
    delegateFailures,
  };
  // The build request that declared this one lost has recorded its end.
  if (tally.lostMessage !== undefined) return { ...counts, status: "failed", message: tally.lostMessage };
  if (blocked.length > 0) {
    state.emit(payload("jobsUnschedulable", { tasks: blocked.map((b) => ({ task: b.task, reason: b.reason })) }));
    for (const b of blocked) {
      for (const output of b.task.config!.outputs) {
        state.emit(
          payload("partitionStatusChanged", {
            partitionRef: output,
            status: PartitionStatus.PARTITION_FAILED,
            message: `not built: ${b.reason}`,
          }),
        );
      }
    }
  }
  const ok = failures.length === 0 && blocked.length === 0 && delegateFailures.length === 0 && !cancellation.cancelled;
  if (ok) {
    state.emit(
      payload("graphBuildSuccess", {
        jobsRun: jobsSucceeded,
        partitionsBuilt,
        partitionsDelegated: tally.deliveredByOthers,
      }),
    );
    state.emit(payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_COMPLETED }));
    const waited =
      (tally.deliveredByOthers > 0 ? `; waited for ${tally.deliveredByOthers} built by other build requests` : "") +
      (tally.takenOver > 0
        ? `; took over ${plural(tally.takenOver, "partition")} whose build request was lost or released it`
        : "");
    return {
      ...counts,
      status: "completed",
      message: `built ${plural(partitionsBuilt, "partition")} in ${plural(jobsSucceeded, "job")}${waited}`,
    };
  }
  const kept =
    cancellation.keptForWaiters > 0
      ? ` (first finished ${cancellation.keptForWaiters} task${cancellation.keptForWaiters === 1 ? "" : "s"} that other build requests were waiting on)`
      : "";
  const message = cancellation.byUser
    ? cancellation.reason! + kept
    : failures.length > 0
      ? `${failures.length} job${failures.length === 1 ? "" : "s"} failed: ${failures.map((f) => `"${f.task.job!.label}" (${f.task.config!.outputs.map((o) => o.str).join(", ")})`).join(", ")}`
      : delegateFailures.length > 0
        ? `${delegateFailures.length} delegated partition${delegateFailures.length === 1 ? "" : "s"} failed: ${delegateFailures.map((f) => `${f.ref} (in build request ${f.delegateBuildRequestId}${f.message ? `: ${f.message}` : ""})`).join(", ")}`
        : (cancellation.reason ?? `${blocked.length} tasks could not be scheduled`);
  const failedPartitions = [
    ...[...failures.map((f) => f.task), ...blocked.map((b) => b.task)].flatMap((t) => t.config!.outputs),
    ...delegateFailures.map((f) => ({ $typeName: "databuild.v1.PartitionRef" as const, str: f.ref })),
  ];
  state.emit(payload("graphBuildFail", { message, failedPartitions }));
  const status = cancellation.byUser
    ? BuildRequestStatus.BUILD_REQUEST_CANCELLED
    : BuildRequestStatus.BUILD_REQUEST_FAILED;
  state.emit(payload("buildRequestStatusChanged", { status, message }));
  return { ...counts, status: cancellation.byUser ? "cancelled" : "failed", message };
}
