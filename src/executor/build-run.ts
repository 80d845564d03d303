/**
 * @module BuildRun: the execution phase of graph.build, the loop sketched in
 * build-graph.ts: start ready tasks, sleep, reap, release or fail, finish.
 * Alongside, the build heartbeats (its lease), follows the log while it
 * waits on partitions delegated to other build requests (they become
 * available, fail, or are let go and taken over here), declares silent
 * delegates lost, and stops if it is itself declared lost.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
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
import { DelegationReason, DepType } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import { AnalyzeError } from "../core/errors.ts";
import type { LoggedEvent } from "../core/event-log.ts";
import { jobScheduleSuccess, partitionStatusChanged } from "../core/hot-payloads.ts";
import { newId } from "../core/ids.ts";
import type { JobOutcome, RunningJob } from "../core/job-runner.ts";
import { TaskState, type BuildPlan } from "./build-plan.ts";
import type { BuildDependencies } from "./build-graph.ts";
import {
  isRetryable,
  type BuildRequest,
  type BuildResult,
  type DelegateFailure,
  type FailedJob,
} from "./build-request.ts";
import type { EventRecorder } from "./event-recorder.ts";
import { plural } from "../core/plural.ts";
import {
  declareLost,
  planAndClaim,
  SHARED_VIEW_FILTER,
  whyLost,
  type ClaimPlanContext,
  type SharedView,
} from "../coordination/index.ts";
import { Waker } from "./waker.ts";

/** How often delegates' liveness is checked while this build waits on them. */
const LIVENESS_CHECK_MS = 250;

interface Ended {
  readonly task: number;
  readonly jobRunId: string;
  readonly outcome: JobOutcome;
}

/** The execution phase of one build: the loop and its bookkeeping. */
export class BuildRun {
  private readonly running = new Map<number, { jobRunId: string; handle: RunningJob }>();
  private readonly ended: Ended[] = [];
  private readonly attempts: number[] = [];
  private readonly builtManifests = new Map<string, PartitionManifest>();
  private readonly waker = new Waker();
  private readonly failures: FailedJob[] = [];
  private readonly blockedBy = new Map<number, string>();
  private pendingRetries = 0;
  private cancelling: string | undefined;
  private cancelledByUser = false;
  private jobsSucceeded = 0;
  private partitionsBuilt = 0;
  /** The build request each awaited partition is delegated to (as last recorded). */
  private readonly delegatedTo: Map<string, string>;
  private readonly delegateFailures: DelegateFailure[] = [];
  /** Awaited partitions that another build request delivered, and those this build took over. */
  private readonly deliveredByOthers = new Set<string>();
  private readonly takenOver = new Set<string>();
  /** Asynchronous steps under way (takeover, cancel, declaring a delegate lost); the build waits for them. */
  private busy = 0;
  private takingOver = false;
  /** Delegates being declared lost right now (one transaction each, not one per liveness tick). */
  private readonly declaring = new Set<string>();
  private stopWatch: (() => void) | undefined;
  private lastLivenessCheck = 0;
  /** Set when another build request declared this one lost. */
  lostMessage: string | undefined;
  private keptForWaiters = 0;
  /** Cancelled, but still building what other build requests wait on. */
  private finishingForOthers = false;
  private fatal: unknown;

  constructor(
    private readonly deps: BuildDependencies,
    private readonly request: BuildRequest,
    private readonly recorder: EventRecorder,
    private readonly buildRequestId: string,
    private readonly plan: BuildPlan,
    private readonly view: SharedView,
    private readonly claimContext: ClaimPlanContext,
    delegated: ReadonlyMap<string, string>,
  ) {
    this.delegatedTo = new Map(delegated);
  }

  /** `fresh`: events the view took in while planning, not yet reacted to. */
  async execute(fresh: readonly LoggedEvent[] = []): Promise<Omit<BuildResult, "jobGraph" | "partitionsSkipped">> {
    const onAbort = () => this.cancelAll("the build was cancelled (interrupt)", true);
    if (this.request.signal?.aborted) onAbort();
    this.request.signal?.addEventListener("abort", onAbort);
    const heartbeat = setInterval(() => this.heartbeat(), this.request.heartbeatMs);
    try {
      this.onFresh(fresh);
      for (;;) {
        // Checked before starting anything: nothing more can be recorded, so
        // stop the jobs rather than run them unrecorded.
        this.fatal ??= this.recorder.appendFailure;
        if (this.fatal) {
          for (const { handle } of this.running.values()) handle.cancel("the build event log cannot be written");
          throw this.fatal;
        }
        this.startReadyTasks();
        if (this.isFinished()) break;
        await this.waker.wait(this.plan.externalCount > 0 ? LIVENESS_CHECK_MS : this.request.heartbeatMs);
        this.reapEnded();
        this.followExternals();
      }
    } finally {
      clearInterval(heartbeat);
      this.stopWatch?.();
      this.request.signal?.removeEventListener("abort", onAbort);
    }
    return this.finish();
  }

  private emit(p: Parameters<EventRecorder["emit"]>[1], jobRunId?: string): void {
    this.recorder.emit({ buildRequestId: this.buildRequestId, jobRunId }, p);
  }

  private isFinished(): boolean {
    if (this.running.size > 0 || this.pendingRetries > 0 || this.busy > 0) return false;
    if (this.cancelling !== undefined && !this.finishingForOthers) return true;
    const waiting = this.cancelling !== undefined ? this.plan.count(TaskState.Waiting) : 0;
    return this.plan.count(TaskState.Ready) === 0 && this.plan.externalCount === 0 && waiting === 0;
  }

  // --- Delegated partitions ------------------------------------------------

  /** Follows the log while partitions are awaited from other build requests. */
  private followExternals(): void {
    if (this.plan.externalCount === 0 || (this.cancelling !== undefined && !this.finishingForOthers)) {
      // Nothing awaited: stop decoding the log (a takeover catches up before it plans).
      this.stopWatch?.();
      this.stopWatch = undefined;
      return;
    }
    this.stopWatch ??= this.deps.log.watch(
      this.view.cursor,
      (events) => {
        this.onFresh(this.view.apply(events));
        this.waker.notify();
      },
      SHARED_VIEW_FILTER,
    );
    if (Date.now() - this.lastLivenessCheck >= LIVENESS_CHECK_MS) {
      this.lastLivenessCheck = Date.now();
      this.checkDelegatesAlive();
    }
  }

  /** Reacts to events other build requests logged (already applied to the view), in log order. */
  private onFresh(events: readonly LoggedEvent[]): void {
    for (const { event } of events) {
      const e = event.event;
      if (e.case === "buildRequestLost" && event.buildRequestId === this.buildRequestId) {
        this.onDeclaredLost(e.value.detectedByBuildRequestId, e.value.reason);
      }
      if (event.buildRequestId === this.buildRequestId) continue;
      if (e.case === "partitionManifest") {
        for (const output of e.value.outputs) this.externalAvailable(output.str);
      } else if (e.case === "partitionStatusChanged" && e.value.status === PartitionStatus.PARTITION_FAILED) {
        const ref = e.value.partitionRef?.str ?? "";
        // A lost build's partitions are taken over, not failed.
        if (this.plan.isPendingExternal(ref) && !this.view.claims.lease(event.buildRequestId)?.lost)
          this.externalFailed(ref, event.buildRequestId, e.value.message);
      }
    }
    this.checkExternals();
  }

  private externalAvailable(ref: string): void {
    if (!this.plan.isPendingExternal(ref)) return;
    this.deliveredByOthers.add(ref);
    this.plan.externalAvailable(ref);
    this.delegatedTo.delete(ref);
  }

  private externalFailed(ref: string, delegate: string, message: string): void {
    const blocked = this.plan.externalFailed(ref);
    this.delegatedTo.delete(ref);
    this.delegateFailures.push({ ref, delegateBuildRequestId: delegate, message });
    const reason = `${ref} failed in build request ${delegate}${message ? ` (${message})` : ""}`;
    for (const b of blocked) this.blockedBy.set(b, reason);
    if (!this.request.keepGoing) this.cancelAll(`${ref}, delegated to build request ${delegate}, failed`, false);
  }

  /**
   * For each awaited partition: still held by another live build request (a
   * new holder gets a new delegation event), available, or let go of, in
   * which case this build takes it over.
   */
  private checkExternals(): void {
    if (this.plan.externalCount === 0) return;
    const orphaned: string[] = [];
    for (const ref of this.plan.pendingExternals()) {
      const owner = this.view.claims.ownerOf(ref);
      if (owner && owner.buildRequestId !== this.buildRequestId) {
        if (this.delegatedTo.get(ref) !== owner.buildRequestId) {
          this.delegatedTo.set(ref, owner.buildRequestId);
          this.emit(
            payload("partitionDelegated", {
              partitionRef: { str: ref },
              delegateBuildRequestId: owner.buildRequestId,
              reason: DelegationReason.IN_PROGRESS,
            }),
          );
        }
      } else if (this.view.catalog.available(ref)) {
        this.externalAvailable(ref);
      } else {
        orphaned.push(ref);
      }
    }
    if (orphaned.length === 0) return;
    if (this.cancelling === undefined) {
      if (!this.takingOver) void this.takeOver(orphaned);
      return;
    }
    // Cancelled: no takeover. What waited on them cannot be finished here; let it go.
    const released: string[] = [];
    for (const ref of orphaned)
      for (const task of this.plan.externalFailed(ref))
        for (const o of this.plan.tasks[task]!.config!.outputs) released.push(o.str);
    if (released.length > 0)
      this.emit(
        payload("partitionsReleased", { partitions: released.map((str) => ({ str })), reason: this.cancelling }),
      );
  }

  /** Plans and claims partitions whose holder let them go (released, ended or lost), and adds the tasks. */
  private async takeOver(refs: string[]): Promise<void> {
    this.takingOver = true;
    this.busy++;
    try {
      const claimed = await planAndClaim(this.claimContext, refs, { planned: (r) => this.plan.producerOf.has(r) });
      const first = this.plan.size;
      const blocked = this.plan.addTasks(claimed.jobGraph, new Set(claimed.delegated.keys()));
      for (const ref of refs) if (this.plan.producerOf.has(ref)) this.takenOver.add(ref);
      for (let i = first; i < this.plan.size; i++) this.attempts.push(0);
      for (const b of blocked) this.blockedBy.set(b, "an input failed earlier in this build");
      for (const [ref, owner] of claimed.delegated) {
        this.delegatedTo.set(ref, owner);
      }
      this.takingOver = false;
      this.onFresh(claimed.fresh);
    } catch (error) {
      if (!(error instanceof AnalyzeError)) {
        this.fatal = error;
      } else {
        for (const ref of refs)
          if (this.plan.isPendingExternal(ref))
            this.externalFailed(ref, this.buildRequestId, `planning its takeover failed: ${error.message}`);
      }
    } finally {
      this.takingOver = false;
      this.busy--;
      this.waker.notify();
    }
  }

  /** Declares delegates that stopped heartbeating (or whose process is gone) lost. */
  private checkDelegatesAlive(): void {
    const now = Date.now();
    for (const owner of new Set(this.delegatedTo.values())) {
      if (this.declaring.has(owner)) continue;
      const lease = this.view.claims.lease(owner);
      if (!lease || !whyLost(this.view.claims, lease, now)) continue;
      this.declaring.add(owner);
      this.busy++;
      declareLost(this.deps.log, this.view, this.buildRequestId, owner)
        .then((fresh) => this.onFresh(fresh))
        .catch((error: unknown) => (this.fatal ??= error))
        .finally(() => {
          this.declaring.delete(owner);
          this.busy--;
          this.waker.notify();
        });
    }
  }

  // --- Own lease --------------------------------------------------------------

  /** The lease: a heartbeat while the build runs (the recorder's fence notices if it was declared lost). */
  private heartbeat(): void {
    this.emit(payload("buildHeartbeat", { runningJobs: this.running.size }));
  }

  /** Another build request took this one's work over: stop at once (the recorder records nothing more). */
  /** Wakes the loop at once (an append failed: it must stop starting jobs). */
  wake(): void {
    this.waker.notify();
  }

  onDeclaredLost(detectedBy: string, reason: string): void {
    if (this.lostMessage !== undefined) return;
    this.lostMessage = `build request ${detectedBy} declared this build lost (${reason}) and took its work over`;
    this.cancelling ??= this.lostMessage;
    this.finishingForOthers = false;
    const ids = [...this.running.values()].map((r) => r.jobRunId);
    if (ids.length > 0) this.emit(payload("jobCancels", { jobRunIds: ids, reason: this.lostMessage }));
    for (const { handle } of this.running.values()) handle.cancel(this.lostMessage);
    this.waker.notify();
  }

  private startReadyTasks(): void {
    if (this.cancelling !== undefined && !this.finishingForOthers) return;
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
    const attempt = (this.attempts[index] = (this.attempts[index] ?? 0) + 1);
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
      graphLabel: this.deps.graph.label,
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
      const built = this.builtManifests.get(ref);
      const available = built ? undefined : this.view.catalog.available(ref);
      refs.push(
        create(ManifestRefSchema, {
          partitionRef: { str: ref },
          depType: input.depType,
          jobRunId: built?.jobRunId ?? available?.jobRunId ?? "",
          builtAt: built ? built.endTime : available?.endMs === undefined ? undefined : timestampFromMs(available.endMs),
        }),
      );
    }
    return refs;
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
      const delay = this.request.retryBackoffMs * 2 ** ((this.attempts[ended.task] ?? 1) - 1);
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

  /**
   * Stops the build, except for what other live build requests wait on:
   * the tasks producing partitions delegated to this build, and everything
   * upstream of them in its plan, keep running (and start) until done and
   * recorded; every other running job is cancelled and every other claim
   * released at once, so that waiting build requests can take it over.
   */
  private cancelAll(reason: string, byUser: boolean): void {
    if (this.cancelling !== undefined) return;
    this.cancelling = reason;
    this.cancelledByUser = byUser;
    this.busy++;
    this.waiters()
      .then((waitedOn) => {
        const keep = this.upstreamOf(waitedOn);
        const cancel: { jobRunId: string; handle: RunningJob }[] = [];
        for (const [index, job] of this.running) if (!keep.has(index)) cancel.push(job);
        if (cancel.length > 0) this.emit(payload("jobCancels", { jobRunIds: cancel.map((c) => c.jobRunId), reason }));
        for (const { handle } of cancel) handle.cancel(reason);
        const released: string[] = [];
        for (let i = 0; i < this.plan.size; i++) {
          const state = this.plan.stateOf(i);
          if (state !== TaskState.Waiting && state !== TaskState.Ready) continue;
          if (keep.has(i)) {
            this.keptForWaiters++;
            continue;
          }
          if (!this.blockedBy.has(i)) for (const o of this.plan.tasks[i]!.config!.outputs) released.push(o.str);
          this.plan.drop(i);
        }
        for (const index of this.running.keys()) if (keep.has(index)) this.keptForWaiters++;
        this.finishingForOthers = this.keptForWaiters > 0;
        if (released.length > 0)
          this.emit(payload("partitionsReleased", { partitions: released.map((str) => ({ str })), reason }));
      })
      .catch((error: unknown) => (this.fatal ??= error))
      .finally(() => {
        this.busy--;
        this.waker.notify();
      });
  }

  /** The unfinished tasks that produce `refs`, and every unfinished task upstream of them in this plan. */
  private upstreamOf(refs: ReadonlySet<string>): Set<number> {
    const keep = new Set<number>();
    const queue: number[] = [];
    const visit = (ref: string) => {
      const task = this.plan.producerOf.get(ref);
      if (task === undefined || keep.has(task)) return;
      const state = this.plan.stateOf(task);
      if (state === TaskState.Done || state === TaskState.Failed || state === TaskState.Blocked) return;
      keep.add(task);
      queue.push(task);
    };
    for (const ref of refs) visit(ref);
    for (let q = 0; q < queue.length; q++)
      for (const input of this.plan.tasks[queue[q]!]!.config!.inputs)
        if (input.depType !== DepType.QUERY) visit(input.partitionRef!.str);
    return keep;
  }

  /** Partitions of this build that other live build requests have delegated to it. */
  private async waiters(): Promise<Set<string>> {
    const waited = new Set<string>();
    const delegations = await this.deps.log.read(this.view.cursor, { kinds: ["partitionDelegated"] });
    for (const { event } of delegations) {
      const d = event.event;
      if (d.case !== "partitionDelegated" || d.value.delegateBuildRequestId !== this.buildRequestId) continue;
      if (d.value.reason !== DelegationReason.IN_PROGRESS) continue;
      if (this.view.claims.lease(event.buildRequestId)?.ended) continue;
      waited.add(d.value.partitionRef?.str ?? "");
    }
    for (const ref of this.plan.producerOf.keys())
      if (this.view.claims.waitersOn(this.buildRequestId, ref).length > 0) waited.add(ref);
    return waited;
  }

  private finish(): Omit<BuildResult, "jobGraph" | "partitionsSkipped"> {
    const blocked: { task: Task; reason: string }[] = [];
    for (const [index, reason] of this.blockedBy) blocked.push({ task: this.plan.tasks[index]!, reason });
    if (this.cancelling === undefined) {
      for (const index of this.plan.waitingTasks())
        blocked.push({ task: this.plan.tasks[index]!, reason: "its inputs can never be produced" });
    }
    const counts = {
      buildRequestId: this.buildRequestId,
      tasksToRun: this.plan.size,
      jobsSucceeded: this.jobsSucceeded,
      jobsFailed: this.failures.length,
      partitionsBuilt: this.partitionsBuilt,
      partitionsDelegated: this.deliveredByOthers.size,
      partitionsTakenOver: this.takenOver.size,
      failures: this.failures,
      blocked,
      delegateFailures: this.delegateFailures,
    };
    // The build request that declared this one lost has recorded its end.
    if (this.lostMessage !== undefined) return { ...counts, status: "failed", message: this.lostMessage };
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
    const ok =
      this.failures.length === 0 &&
      blocked.length === 0 &&
      this.delegateFailures.length === 0 &&
      this.cancelling === undefined;
    if (ok) {
      this.emit(
        payload("graphBuildSuccess", {
          jobsRun: this.jobsSucceeded,
          partitionsBuilt: this.partitionsBuilt,
          partitionsDelegated: this.deliveredByOthers.size,
        }),
      );
      this.emit(payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_COMPLETED }));
      const waited =
        (this.deliveredByOthers.size > 0
          ? `; waited for ${this.deliveredByOthers.size} built by other build requests`
          : "") +
        (this.takenOver.size > 0
          ? `; took over ${plural(this.takenOver.size, "partition")} whose build request was lost or released it`
          : "");
      return {
        ...counts,
        status: "completed",
        message: `built ${plural(this.partitionsBuilt, "partition")} in ${plural(this.jobsSucceeded, "job")}${waited}`,
      };
    }
    const kept =
      this.keptForWaiters > 0
        ? ` (first finished ${this.keptForWaiters} task${this.keptForWaiters === 1 ? "" : "s"} that other build requests were waiting on)`
        : "";
    const message = this.cancelledByUser
      ? this.cancelling! + kept
      : this.failures.length > 0
        ? `${this.failures.length} job${this.failures.length === 1 ? "" : "s"} failed: ${this.failures.map((f) => `"${f.task.job!.label}" (${f.task.config!.outputs.map((o) => o.str).join(", ")})`).join(", ")}`
        : this.delegateFailures.length > 0
          ? `${this.delegateFailures.length} delegated partition${this.delegateFailures.length === 1 ? "" : "s"} failed: ${this.delegateFailures.map((f) => `${f.ref} (in build request ${f.delegateBuildRequestId}${f.message ? `: ${f.message}` : ""})`).join(", ")}`
          : (this.cancelling ?? `${blocked.length} tasks could not be scheduled`);
    const failedPartitions = [
      ...[...this.failures.map((f) => f.task), ...blocked.map((b) => b.task)].flatMap((t) => t.config!.outputs),
      ...this.delegateFailures.map((f) => ({ $typeName: "databuild.v1.PartitionRef" as const, str: f.ref })),
    ];
    this.emit(payload("graphBuildFail", { message, failedPartitions }));
    const status = this.cancelledByUser
      ? BuildRequestStatus.BUILD_REQUEST_CANCELLED
      : BuildRequestStatus.BUILD_REQUEST_FAILED;
    this.emit(payload("buildRequestStatusChanged", { status, message }));
    return { ...counts, status: this.cancelledByUser ? "cancelled" : "failed", message };
  }
}
