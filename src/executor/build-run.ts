/**
 * @module BuildRun: the execution phase of graph.build, the loop sketched in
 * build-graph.ts: start ready tasks, sleep, reap, release or fail, finish.
 */
import { create } from "@bufbuild/protobuf";
import {
  BuildRequestStatus,
  ExitCategory,
  JobRunRequestSchema,
  ManifestRefSchema,
  PartitionStatus,
  type ManifestRef,
  type PartitionManifest,
  type Task,
} from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import { jobScheduleSuccess, partitionStatusChanged } from "../core/hot-payloads.ts";
import { newId } from "../core/ids.ts";
import type { JobOutcome, RunningJob } from "../core/job-runner.ts";
import type { PartitionCatalog } from "../core/projections/partition-catalog.ts";
import { TaskState, type BuildPlan } from "./build-plan.ts";
import type { BuildDependencies } from "./build-graph.ts";
import { isRetryable, type BuildRequest, type BuildResult, type FailedJob } from "./build-request.ts";
import type { EventRecorder } from "./event-recorder.ts";
import { Waker } from "./waker.ts";

interface Ended {
  readonly task: number;
  readonly jobRunId: string;
  readonly outcome: JobOutcome;
}

/** The execution phase of one build: the loop and its bookkeeping. */
export class BuildRun {
  private readonly running = new Map<number, { jobRunId: string; handle: RunningJob }>();
  private readonly ended: Ended[] = [];
  private readonly attempts: Int32Array;
  private readonly builtManifests = new Map<string, PartitionManifest>();
  private readonly waker = new Waker();
  private readonly failures: FailedJob[] = [];
  private readonly blockedBy = new Map<number, string>();
  private pendingRetries = 0;
  private cancelling: string | undefined;
  private cancelledByUser = false;
  private jobsSucceeded = 0;
  private partitionsBuilt = 0;
  private lastHeartbeat = Date.now();

  constructor(
    private readonly deps: BuildDependencies,
    private readonly request: BuildRequest,
    private readonly recorder: EventRecorder,
    private readonly buildRequestId: string,
    private readonly plan: BuildPlan,
    private readonly catalog: PartitionCatalog,
  ) {
    this.attempts = new Int32Array(plan.size);
  }

  async execute(): Promise<Omit<BuildResult, "jobGraph" | "partitionsSkipped">> {
    const onAbort = () => this.cancelAll("the build was cancelled (interrupt)", true);
    if (this.request.signal?.aborted) onAbort();
    this.request.signal?.addEventListener("abort", onAbort);
    try {
      for (;;) {
        this.startReadyTasks();
        if (this.isFinished()) break;
        await this.waker.wait(Math.max(1, this.request.heartbeatMs - (Date.now() - this.lastHeartbeat)));
        this.heartbeatIfDue();
        this.reapEnded();
      }
    } finally {
      this.request.signal?.removeEventListener("abort", onAbort);
    }
    return this.finish();
  }

  private emit(p: Parameters<EventRecorder["emit"]>[1], jobRunId?: string): void {
    this.recorder.emit({ buildRequestId: this.buildRequestId, jobRunId }, p);
  }

  private isFinished(): boolean {
    if (this.running.size > 0 || this.pendingRetries > 0) return false;
    return this.cancelling !== undefined || this.plan.count(TaskState.Ready) === 0;
  }

  private startReadyTasks(): void {
    if (this.cancelling !== undefined) return;
    const ready = this.plan.count(TaskState.Ready);
    if (ready === 0 || this.running.size >= this.request.parallel) return;
    this.emit(
      payload("remainingJobs", {
        ready,
        running: this.running.size,
        waiting: this.plan.count(TaskState.Waiting),
      }),
    );
    while (this.running.size < this.request.parallel) {
      const index = this.plan.nextReady();
      if (index === undefined) break;
      this.start(index);
    }
  }

  private start(index: number): void {
    const task = this.plan.tasks[index]!;
    const job = this.deps.graph.job(task.job!.label)!;
    const attempt = ++this.attempts[index]!;
    const jobRunId = newId();
    this.emit(jobScheduleSuccess(task, attempt), jobRunId);
    for (const output of task.config!.outputs) {
      this.emit(partitionStatusChanged(output, PartitionStatus.PARTITION_SCHEDULED, jobRunId), jobRunId);
    }
    const request = create(JobRunRequestSchema, {
      task,
      command: job.exec.kind === "command" ? [...job.exec.command] : [],
      cwd: job.exec.kind === "command" ? job.exec.cwd : "",
      buildRequestId: this.buildRequestId,
      jobRunId,
      jobVersion: job.version,
      inputManifests: this.inputManifests(task),
      heartbeatIntervalMs: this.request.heartbeatMs,
      timeoutMs: job.timeoutMs ?? 0,
      killGraceMs: this.request.killGraceMs,
    });
    const handle = this.deps.runner.start(
      request,
      (event) => {
        this.recorder.record(event);
        if (event.event.case === "taskLaunchSuccess") {
          for (const output of task.config!.outputs) {
            this.emit(partitionStatusChanged(output, PartitionStatus.PARTITION_BUILDING, jobRunId), jobRunId);
          }
        }
      },
      job.exec.kind === "function" ? job.exec : undefined,
    );
    this.running.set(index, { jobRunId, handle });
    void handle.done.then((outcome) => {
      this.ended.push({ task: index, jobRunId, outcome });
      this.waker.notify();
    });
  }

  /** Where each input came from: built in this build, or available before it. */
  private inputManifests(task: Task): ManifestRef[] {
    const refs: ManifestRef[] = [];
    for (const input of task.config!.inputs) {
      const ref = input.partitionRef!.str;
      const manifest = this.builtManifests.get(ref) ?? this.catalog.availableManifest(ref);
      refs.push(
        create(ManifestRefSchema, {
          partitionRef: { str: ref },
          depType: input.depType,
          jobRunId: manifest?.jobRunId ?? "",
          builtAt: manifest?.endTime,
        }),
      );
    }
    return refs;
  }

  private heartbeatIfDue(): void {
    if (Date.now() - this.lastHeartbeat < this.request.heartbeatMs) return;
    this.lastHeartbeat = Date.now();
    this.emit(payload("buildHeartbeat", { runningJobs: this.running.size }));
  }

  private reapEnded(): void {
    const batch = this.ended.splice(0);
    const succeeded: Ended[] = [];
    for (const ended of batch) {
      this.running.delete(ended.task);
      if (ended.outcome.kind === "success") {
        succeeded.push(ended);
        for (const output of ended.outcome.manifest.outputs)
          this.builtManifests.set(output.str, ended.outcome.manifest);
      } else {
        this.handleFailure(ended, ended.outcome);
      }
    }
    if (succeeded.length > 0) this.release(succeeded);
  }

  /**
   * Marks successes available and frees their dependents at once. Their
   * manifests are already recorded, and the log keeps append order, so a
   * consumer's manifest can never become durable without its producer's: a
   * crash loses the tail of the log, never the middle. The build waits for
   * durability only before it reports its end.
   */
  private release(succeeded: readonly Ended[]): void {
    for (const { task, jobRunId } of succeeded) {
      const outputs = this.plan.tasks[task]!.config!.outputs;
      for (const output of outputs) {
        this.emit(partitionStatusChanged(output, PartitionStatus.PARTITION_AVAILABLE, jobRunId), jobRunId);
      }
      this.plan.succeed(task);
      this.jobsSucceeded++;
      this.partitionsBuilt += outputs.length;
    }
  }

  private handleFailure(ended: Ended, outcome: Extract<JobOutcome, { kind: "failure" }>): void {
    const task = this.plan.tasks[ended.task]!;
    if (outcome.category === ExitCategory.EXIT_CANCELLED && this.cancelling !== undefined) {
      this.plan.fail(ended.task);
      return;
    }
    if (
      this.cancelling === undefined &&
      isRetryable(outcome.category) &&
      this.attempts[ended.task]! <= this.request.retries
    ) {
      const delay = this.request.retryBackoffMs * 2 ** (this.attempts[ended.task]! - 1);
      this.pendingRetries++;
      setTimeout(() => {
        this.pendingRetries--;
        if (this.cancelling === undefined) this.plan.retry(ended.task);
        else this.plan.fail(ended.task);
        this.waker.notify();
      }, delay);
      return;
    }
    this.failures.push({ task, jobRunId: ended.jobRunId, outcome });
    this.emit(payload("jobFailure", { task, category: outcome.category, message: outcome.message }), ended.jobRunId);
    for (const output of task.config!.outputs) {
      this.emit(
        payload("partitionStatusChanged", {
          partitionRef: output,
          status: PartitionStatus.PARTITION_FAILED,
          jobRunId: ended.jobRunId,
          message: outcome.message,
        }),
        ended.jobRunId,
      );
    }
    const blocked = this.plan.fail(ended.task);
    const reason = `upstream job "${task.job!.label}" failed (${task.config!.outputs.map((o) => o.str).join(", ")})`;
    for (const b of blocked) this.blockedBy.set(b, reason);
    if (!this.request.keepGoing) this.cancelAll(`job "${task.job!.label}" failed`, false);
  }

  private cancelAll(reason: string, byUser: boolean): void {
    if (this.cancelling !== undefined) return;
    this.cancelling = reason;
    this.cancelledByUser = byUser;
    const ids = [...this.running.values()].map((r) => r.jobRunId);
    if (ids.length > 0) this.emit(payload("jobCancels", { jobRunIds: ids, reason }));
    for (const { handle } of this.running.values()) handle.cancel(reason);
    this.waker.notify();
  }

  private finish(): Omit<BuildResult, "jobGraph" | "partitionsSkipped"> {
    const blocked: { task: Task; reason: string }[] = [];
    for (const [index, reason] of this.blockedBy) blocked.push({ task: this.plan.tasks[index]!, reason });
    if (this.cancelling === undefined) {
      for (const index of this.plan.waitingTasks())
        blocked.push({ task: this.plan.tasks[index]!, reason: "its inputs can never be produced" });
    }
    if (blocked.length > 0) {
      this.emit(payload("jobsUnschedulable", { tasks: blocked.map((b) => ({ task: b.task, reason: b.reason })) }));
      for (const b of blocked) {
        for (const output of b.task.config!.outputs) {
          this.emit(
            payload("partitionStatusChanged", {
              partitionRef: output,
              status: PartitionStatus.PARTITION_FAILED,
              message: `not built: ${b.reason}`,
            }),
          );
        }
      }
    }
    const counts = {
      buildRequestId: this.buildRequestId,
      tasksToRun: this.plan.size,
      jobsSucceeded: this.jobsSucceeded,
      jobsFailed: this.failures.length,
      partitionsBuilt: this.partitionsBuilt,
      failures: this.failures,
      blocked,
    };
    if (this.failures.length === 0 && blocked.length === 0 && this.cancelling === undefined) {
      this.emit(payload("graphBuildSuccess", { jobsRun: this.jobsSucceeded, partitionsBuilt: this.partitionsBuilt }));
      this.emit(payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_COMPLETED }));
      return {
        ...counts,
        status: "completed",
        message: `built ${this.partitionsBuilt} partitions in ${this.jobsSucceeded} jobs`,
      };
    }
    const message = this.cancelledByUser
      ? this.cancelling!
      : this.failures.length > 0
        ? `${this.failures.length} job${this.failures.length === 1 ? "" : "s"} failed: ${this.failures.map((f) => `"${f.task.job!.label}" (${f.task.config!.outputs.map((o) => o.str).join(", ")})`).join(", ")}`
        : (this.cancelling ?? `${blocked.length} tasks could not be scheduled`);
    const failedPartitions = [...this.failures.map((f) => f.task), ...blocked.map((b) => b.task)].flatMap(
      (t) => t.config!.outputs,
    );
    this.emit(payload("graphBuildFail", { message, failedPartitions }));
    const status = this.cancelledByUser
      ? BuildRequestStatus.BUILD_REQUEST_CANCELLED
      : BuildRequestStatus.BUILD_REQUEST_FAILED;
    this.emit(payload("buildRequestStatusChanged", { status, message }));
    return { ...counts, status: this.cancelledByUser ? "cancelled" : "failed", message };
  }
}
