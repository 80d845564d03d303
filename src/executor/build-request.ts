/**
 * @module What a build is asked to do, with what, and what it reports back:
 * the types the build's files (build-graph.ts, build-run.ts and the
 * concerns beside it) share.
 */
import { ExitCategory, type JobGraph, type Task } from "../gen/databuild_pb.ts";
import type { DatabuildError } from "../core/errors.ts";
import type { EventLog } from "../core/event-log.ts";
import type { Graph } from "../core/graph.ts";
import type { ConfigLimits } from "../core/job.ts";
import type { JobOutcome, JobRunner } from "../core/job-runner.ts";
import type { HostProcesses, SharedView } from "../coordination/index.ts";
import type { EventObserver } from "./event-recorder.ts";

/** What a build runs with: the graph, the log, how jobs run, and who watches. */
export interface BuildDependencies {
  readonly graph: Graph;
  readonly log: EventLog;
  readonly runner: JobRunner;
  /** See every event as it is recorded (progress display). */
  readonly observers?: readonly EventObserver[];
  /** What this host tells about other build requests' processes (default: /proc, `PROC_HOST`). */
  readonly host?: HostProcesses;
  /**
   * The build snapshots its view at its end once it holds at least this many
   * events its last snapshot lacks (default SNAPSHOT_AFTER_EVENTS): a build
   * with nothing to do does not pay for a snapshot.
   */
  readonly snapshotAfterEvents?: number;
  /**
   * A live view of the log to build with instead of loading one (the
   * service's: src/service/reads/build-view.ts); the build catches it up to
   * the log's head and keeps it up as its own. One view per build.
   */
  readonly view?: SharedView;
}

export interface BuildRequest {
  readonly refs: readonly string[];
  /** Most jobs running at once. */
  readonly parallel: number;
  /** On a job failure, build everything not downstream of it instead of stopping. */
  readonly keepGoing: boolean;
  /** Rebuild the requested refs even when available (not their inputs). */
  readonly force: boolean;
  /** Plan and report, run nothing, write nothing to the log. */
  readonly dryRun: boolean;
  /** Extra attempts for a failure in a retryable category (signal, launch failure, lost). */
  readonly retries: number;
  /** Delay before the first retry; it doubles with each further attempt. */
  readonly retryBackoffMs: number;
  /** Heartbeat period of the build and of its jobs. */
  readonly heartbeatMs: number;
  /**
   * The build's lease: other build requests may declare it lost and take its
   * work over after this long without a heartbeat (if it is on another host,
   * or its process still exists; a dead process on this host is noticed at once).
   */
  readonly heartbeatTimeoutMs: number;
  /** Time a cancelled job has between SIGTERM and SIGKILL. */
  readonly killGraceMs: number;
  /** Who asked ("user@host pid N"). */
  readonly requester: string;
  readonly buildRequestId?: string;
  /** What its BuildRequestReceived says beyond the above: the service's fields (RequestBuild, triggers, adoption). */
  readonly received?: ReceivedFields;
  /**
   * Its BuildRequestReceived is in the log already: the caller recorded it
   * (with `buildRequestReceivedPayload`, under `buildRequestId`) inside an
   * atomic append that decided a want_key or a trigger tick. The build starts
   * after it instead of recording it again.
   */
  readonly receivedRecorded?: boolean;
  /** Aborting cancels the build (Ctrl-C), while planning too. */
  readonly signal?: AbortSignal;
  /** Config limits for jobs that set none of their own (`--config-timeout`, `--config-max-output`). */
  readonly configLimits?: Partial<ConfigLimits>;
  /** The log limit of job runs whose job sets none (`--log-limit`); default 16 MiB (the exec wrapper's). */
  readonly logLimitBytes?: number;
}

export interface ReceivedFields {
  readonly wantKey?: string;
  /** "service", "trigger"; unset: the CLI. */
  readonly origin?: string;
  readonly trigger?: string;
  readonly continuesBuildRequestId?: string;
}

export const DEFAULT_BUILD_REQUEST = {
  keepGoing: false,
  force: false,
  dryRun: false,
  retries: 0,
  retryBackoffMs: 500,
  heartbeatMs: 5_000,
  heartbeatTimeoutMs: 30_000,
  killGraceMs: 5_000,
} as const;

export interface FailedJob {
  readonly task: Task;
  readonly jobRunId: string;
  readonly outcome: Extract<JobOutcome, { kind: "failure" }>;
}

export interface DelegateFailure {
  readonly ref: string;
  readonly delegateBuildRequestId: string;
  readonly message: string;
}

export interface BuildResult {
  readonly buildRequestId: string;
  readonly status: "completed" | "failed" | "cancelled" | "dry-run";
  readonly jobGraph?: JobGraph;
  /** The planned tasks that needed running (for a dry run: that would run). */
  readonly tasksToRun: number;
  readonly jobsSucceeded: number;
  readonly jobsFailed: number;
  readonly partitionsBuilt: number;
  /** Requested or needed partitions that were already available. */
  readonly partitionsSkipped: number;
  /** Partitions this build waited for while other build requests built them. */
  readonly partitionsDelegated: number;
  /** Partitions it waited for, then built itself when their holder let go of them (released, lost). */
  readonly partitionsTakenOver: number;
  /** Delegated partitions the other build request failed (this build could not use them). */
  readonly delegateFailures: readonly DelegateFailure[];
  readonly failures: readonly FailedJob[];
  /** Tasks that could never run (downstream of a failure, or unschedulable). */
  readonly blocked: readonly { task: Task; reason: string }[];
  /** Set when the analysis failed; no job ran. */
  readonly analyzeError?: DatabuildError;
  readonly message: string;
}

/** Retrying helps only when the failure may not happen again. */
export function isRetryable(category: ExitCategory): boolean {
  return (
    category === ExitCategory.EXIT_SIGNAL ||
    category === ExitCategory.EXIT_LAUNCH_FAILURE ||
    category === ExitCategory.EXIT_LOST
  );
}
