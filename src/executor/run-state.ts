/**
 * @module What the concerns of one build's execution share: the loop
 * (build-run.ts), delegated partitions (delegations.ts), job failures
 * (job-failures.ts), the cancel (cancellation.ts) and the result
 * (run-result.ts). The plan, the running jobs, recording, waking the loop,
 * and the bookkeeping that more than one of them updates.
 */
import type { EventPayload } from "../core/build-event.ts";
import type { JobOutcome, RunningJob } from "../core/job-runner.ts";
import type { BuildPlan } from "./build-plan.ts";
import type { EventRecorder } from "./event-recorder.ts";
import { Waker } from "./waker.ts";

/** A job run that ended, not yet reaped by the loop. */
export interface Ended {
  readonly task: number;
  readonly jobRunId: string;
  readonly outcome: JobOutcome;
}

export interface RunningTask {
  readonly jobRunId: string;
  readonly handle: RunningJob;
}

export class RunState {
  /** Running job runs, by task. */
  readonly running = new Map<number, RunningTask>();
  /** Attempts started, by task (a retry is another attempt). */
  readonly attempts: number[] = [];
  /** Tasks that can never run in this build, with why. */
  readonly blockedBy = new Map<number, string>();
  readonly waker = new Waker();
  /** Asynchronous steps under way (takeover, cancel, declaring a delegate lost); the build waits for them. */
  busy = 0;
  /** What stops the build with an error (the log cannot be written, a step failed unexpectedly). */
  fatal: unknown;

  constructor(
    readonly plan: BuildPlan,
    private readonly recorder: EventRecorder,
    readonly buildRequestId: string,
  ) {}

  /** Records a payload of this build request (of one of its job runs, with `jobRunId`). */
  emit(p: EventPayload, jobRunId?: string): void {
    this.recorder.emit({ buildRequestId: this.buildRequestId, jobRunId }, p);
  }
}
