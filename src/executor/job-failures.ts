/**
 * @module A job run that failed: retried (a retryable category, with
 * exponential backoff, while attempts remain and the build is not
 * cancelled), or its task fails, its outputs are FAILED, its downstream is
 * blocked, and, without keepGoing, the build is cancelled.
 */
import { ExitCategory, PartitionStatus } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import type { JobOutcome } from "../core/job-runner.ts";
import { isRetryable, type BuildRequest, type FailedJob } from "./build-request.ts";
import type { Cancellation } from "./cancellation.ts";
import type { Ended, RunState } from "./run-state.ts";

export class JobFailures {
  /** The job runs whose task failed for good. */
  readonly failed: FailedJob[] = [];
  /** Retries waiting for their backoff (the build waits for them). */
  pendingRetries = 0;

  constructor(
    private readonly state: RunState,
    private readonly cancellation: Cancellation,
    private readonly request: Pick<BuildRequest, "retries" | "retryBackoffMs" | "keepGoing">,
  ) {}

  handle(ended: Ended, outcome: Extract<JobOutcome, { kind: "failure" }>): void {
    const { state, cancellation } = this;
    const { plan, attempts } = state;
    const task = plan.tasks[ended.task]!;
    if (outcome.category === ExitCategory.EXIT_CANCELLED && cancellation.cancelled) {
      plan.fail(ended.task);
      return;
    }
    if (!cancellation.cancelled && isRetryable(outcome.category) && attempts[ended.task]! <= this.request.retries) {
      const delay = this.request.retryBackoffMs * 2 ** ((attempts[ended.task] ?? 1) - 1);
      this.pendingRetries++;
      setTimeout(() => {
        this.pendingRetries--;
        if (!cancellation.cancelled) plan.retry(ended.task);
        else plan.fail(ended.task);
        state.waker.notify();
      }, delay);
      return;
    }
    this.failed.push({ task, jobRunId: ended.jobRunId, outcome });
    state.emit(payload("jobFailure", { task, category: outcome.category, message: outcome.message }), ended.jobRunId);
    for (const output of task.config!.outputs) {
      state.emit(
        payload("partitionStatusChanged", {
          partitionRef: output,
          status: PartitionStatus.PARTITION_FAILED,
          message: outcome.message,
        }),
        ended.jobRunId,
      );
    }
    const blocked = plan.fail(ended.task);
    const reason = `upstream job "${task.job!.label}" failed (${task.config!.outputs.map((o) => o.str).join(", ")})`;
    for (const b of blocked) state.blockedBy.set(b, reason);
    if (!this.request.keepGoing) cancellation.cancelAll(`job "${task.job!.label}" failed`, false);
  }
}
