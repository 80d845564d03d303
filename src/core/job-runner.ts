/**
 * @module The job runner port: starts one job run and reports what it does
 * as job.exec diagram events. The exec wrapper implements it for commands
 * (child processes) and for in-process TypeScript functions.
 */
import type { BuildEvent, ExitCategory, JobRunRequest, PartitionManifest } from "../gen/databuild_pb.ts";
import type { FunctionExec } from "./job.ts";

/** How a job run ended. */
export type JobOutcome =
  | { readonly kind: "success"; readonly manifest: PartitionManifest }
  | {
      readonly kind: "failure";
      readonly category: ExitCategory;
      readonly message: string;
      readonly exitCode?: number;
      readonly signal?: string;
      readonly stderrTail: readonly string[];
    };

export interface RunningJob {
  /** Settles once the run has ended and its last event was emitted; never rejects. */
  readonly done: Promise<JobOutcome>;
  /** Stops the run (SIGTERM, then SIGKILL after the grace period); it ends as EXIT_CANCELLED. */
  cancel(reason: string): void;
}

/** How a runner hands over a job run's events (see `JobRunner.start`). */
export type EmitRunEvent = (event: BuildEvent, recordedAt?: number) => void;

export interface JobRunner {
  /**
   * Starts `request` (its command, or `fn` for an in-process job) and emits
   * every job.exec event, in order, through `emit`. Events may be emitted
   * before `start` returns (a synchronous function job emits all of them);
   * `emit` must be synchronous and must not throw. A runner whose jobs run
   * elsewhere and record their own events (workers) passes `recordedAt`, the
   * offset the event already has in the log: the caller only takes note.
   */
  start(request: JobRunRequest, emit: EmitRunEvent, fn?: FunctionExec): RunningJob;
  /**
   * Gets ready for `functionRuns` in-process runs about to start (worker
   * threads load the graph meanwhile), so the first need not wait as long.
   */
  warm?(functionRuns: number): void;
  /** Releases what the runner keeps between runs (worker threads); call once no run is left. */
  close?(): Promise<void> | void;
}
