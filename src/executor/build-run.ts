/**
 * @module BuildRun: the execution phase of graph.build, the loop sketched in
 * build-graph.ts: start ready tasks, sleep, reap, release or fail, finish.
 * Alongside, the build heartbeats (its lease) and stops if it is itself
 * declared lost. Its other concerns live beside it, sharing its state
 * (run-state.ts): partitions delegated to other build requests and their
 * takeover (delegations.ts), failed jobs and retries (job-failures.ts), a
 * cancel that still finishes what others wait on (cancellation.ts), and the
 * final result (run-result.ts).
 */
import { PartitionStatus, type ManifestRef, type PartitionManifest, type Task } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import type { LoggedEvent } from "../core/event-log.ts";
import { jobRunRequest, jobScheduleSuccess, manifestRef, partitionStatusChanged } from "../core/hot-payloads.ts";
import { newId } from "../core/ids.ts";
import type { ClaimPlanContext, SharedView } from "../coordination/index.ts";
import { TaskState, type BuildPlan } from "./build-plan.ts";
import type { BuildDependencies, BuildRequest } from "./build-request.ts";
import { Cancellation } from "./cancellation.ts";
import { CancelRequestedError } from "./cancel-watch.ts";
import { Delegations, LIVENESS_CHECK_MS } from "./delegations.ts";
import type { EventRecorder } from "./event-recorder.ts";
import { JobFailures } from "./job-failures.ts";
import { finishRun, type RunResult } from "./run-result.ts";
import { RunState, type Ended } from "./run-state.ts";
import { timestampAtMs } from "../core/timestamp.ts";

/**
 * remainingJobs is recorded at the first scheduling pass, then at most this
 * often, when the counts changed: once per pass would add an event to
 * nearly every job run.
 */
const REMAINING_JOBS_EVERY_MS = 1000;

/** The execution phase of one build: the loop and its bookkeeping. */
export class BuildRun {
  private readonly state: RunState;
  private readonly cancellation: Cancellation;
  private readonly failures: JobFailures;
  private readonly delegations: Delegations;
  private readonly ended: Ended[] = [];
  private readonly builtManifests = new Map<string, PartitionManifest>();
  private jobsSucceeded = 0;
  private partitionsBuilt = 0;
  /** The last remainingJobs recorded, and when. */
  private lastRemaining: { ready: number; running: number; waiting: number; atMs: number } | undefined;
  /** Set when another build request declared this one lost. */
  lostMessage: string | undefined;

  constructor(
    private readonly deps: BuildDependencies,
    private readonly request: BuildRequest,
    private readonly recorder: EventRecorder,
    buildRequestId: string,
    private readonly plan: BuildPlan,
    private readonly view: SharedView,
    claimContext: ClaimPlanContext,
    delegated: ReadonlyMap<string, string>,
  ) {
    const state = (this.state = new RunState(plan, recorder, buildRequestId));
    const cancellation = (this.cancellation = new Cancellation(state, deps.log, view));
    this.failures = new JobFailures(state, cancellation, request);
    this.delegations = new Delegations(
      {
        state,
        cancellation,
        log: deps.log,
        view,
        claimContext,
        keepGoing: request.keepGoing,
        onDeclaredLost: (detectedBy, reason) => this.onDeclaredLost(detectedBy, reason),
      },
      delegated,
    );
  }

  /** `fresh`: events the view took in while planning, not yet reacted to. */
  async execute(fresh: readonly LoggedEvent[] = []): Promise<RunResult> {
    const { state } = this;
    // A cancel from another process says who asked (cancel-watch.ts).
    const reason = () => {
      const why: unknown = this.request.signal?.reason;
      return why instanceof CancelRequestedError ? why.message : "the build was cancelled (interrupt)";
    };
    const onAbort = () => this.cancellation.cancelAll(reason(), true);
    if (this.request.signal?.aborted) onAbort();
    this.request.signal?.addEventListener("abort", onAbort);
    const heartbeat = setInterval(() => this.heartbeat(), this.request.heartbeatMs);
    try {
      this.delegations.onFresh(fresh);
      for (;;) {
        // Checked before starting anything: nothing more can be recorded, so
        // stop the jobs rather than run them unrecorded.
        state.fatal ??= this.recorder.appendFailure;
        if (state.fatal) {
          for (const { handle } of state.running.values()) handle.cancel("the build event log cannot be written");
          throw state.fatal;
        }
        this.startReadyTasks();
        if (this.isFinished()) break;
        await state.waker.wait(this.plan.externalCount > 0 ? LIVENESS_CHECK_MS : this.request.heartbeatMs);
        this.reapEnded();
        this.delegations.follow();
      }
    } finally {
      clearInterval(heartbeat);
      this.delegations.stop();
      this.request.signal?.removeEventListener("abort", onAbort);
    }
    return finishRun(state, this.cancellation, {
      jobsSucceeded: this.jobsSucceeded,
      partitionsBuilt: this.partitionsBuilt,
      failures: this.failures.failed,
      delegateFailures: this.delegations.failures,
      deliveredByOthers: this.delegations.deliveredByOthers.size,
      takenOver: this.delegations.takenOver.size,
      lostMessage: this.lostMessage,
    });
  }

  private isFinished(): boolean {
    if (this.state.running.size > 0 || this.failures.pendingRetries > 0 || this.state.busy > 0) return false;
    if (this.cancellation.stopping) return true;
    const waiting = this.cancellation.cancelled ? this.plan.count(TaskState.Waiting) : 0;
    return this.plan.count(TaskState.Ready) === 0 && this.plan.externalCount === 0 && waiting === 0;
  }

  // --- Own lease --------------------------------------------------------------

  /** The lease: a heartbeat while the build runs (the recorder's fence notices if it was declared lost). */
  private heartbeat(): void {
    this.state.emit(payload("buildHeartbeat", { runningJobs: this.state.running.size }));
  }

  /** Wakes the loop at once (an append failed: it must stop starting jobs). */
  wake(): void {
    this.state.waker.notify();
  }

  /** Another build request took this one's work over: stop at once (the recorder records nothing more). */
  onDeclaredLost(detectedBy: string, reason: string): void {
    if (this.lostMessage !== undefined) return;
    const { state } = this;
    // A replica handing its own builds over declares them lost itself: nobody has taken the work over yet.
    this.lostMessage =
      detectedBy === this.request.buildRequestId || !detectedBy
        ? `this build was declared lost (${reason}); its claims are released for another build request to take over`
        : `${/^[0-9a-f]{8}-/.test(detectedBy) ? `build request ${detectedBy}` : detectedBy} declared this build lost (${reason}) and took its work over`;
    this.cancellation.stopForLost(this.lostMessage);
    const ids = [...state.running.values()].map((r) => r.jobRunId);
    if (ids.length > 0) state.emit(payload("jobCancels", { jobRunIds: ids, reason: this.lostMessage }));
    for (const { handle } of state.running.values()) handle.cancel(this.lostMessage);
    state.waker.notify();
  }

  // --- Starting tasks ---------------------------------------------------------

  private startReadyTasks(): void {
    const { running } = this.state;
    if (this.cancellation.stopping) return;
    const ready = this.plan.count(TaskState.Ready);
    if (ready === 0 || running.size >= this.request.parallel) return;
    const counts = { ready, running: running.size, waiting: this.plan.count(TaskState.Waiting) };
    const last = this.lastRemaining;
    const now = Date.now();
    if (
      last === undefined ||
      (now - last.atMs >= REMAINING_JOBS_EVERY_MS &&
        (last.ready !== counts.ready || last.running !== counts.running || last.waiting !== counts.waiting))
    ) {
      this.lastRemaining = { ...counts, atMs: now };
      this.state.emit(payload("remainingJobs", counts));
    }
    while (running.size < this.request.parallel) {
      const index = this.plan.nextReady();
      if (index === undefined) break;
      this.start(index);
    }
  }

  private start(index: number): void {
    const { state } = this;
    const task = this.plan.tasks[index]!;
    const job = this.deps.graph.job(task.job!.label)!;
    const attempt = (state.attempts[index] = (state.attempts[index] ?? 0) + 1);
    const jobRunId = newId();
    state.emit(jobScheduleSuccess(task, attempt), jobRunId);
    for (const output of task.config!.outputs) {
      state.emit(partitionStatusChanged(output, PartitionStatus.PARTITION_SCHEDULED, ""), jobRunId);
    }
    const request = jobRunRequest({
      task,
      command: job.exec.kind === "command" ? [...job.exec.command] : [],
      cwd: job.exec.kind === "command" ? job.exec.cwd : "",
      buildRequestId: state.buildRequestId,
      jobRunId,
      jobVersion: job.version,
      inputManifests: this.inputManifests(task),
      heartbeatIntervalMs: this.request.heartbeatMs,
      timeoutMs: job.timeoutMs ?? 0,
      killGraceMs: this.request.killGraceMs,
      graphLabel: this.deps.graph.label,
      logLimitBytes: BigInt(job.logLimitBytes ?? this.request.logLimitBytes ?? 0),
    });
    const handle = this.deps.runner.start(
      request,
      (event, recordedAt) => {
        if (recordedAt === undefined) this.recorder.record(event);
        else this.recorder.noteRecorded(event, recordedAt);
        if (event.event.case === "taskLaunchSuccess") {
          for (const output of task.config!.outputs) {
            state.emit(partitionStatusChanged(output, PartitionStatus.PARTITION_BUILDING, ""), jobRunId);
          }
        }
      },
      job.exec.kind === "function" ? job.exec : undefined,
    );
    state.running.set(index, { jobRunId, handle });
    void handle.done.then((outcome) => {
      this.ended.push({ task: index, jobRunId, outcome });
      state.waker.notify();
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
        manifestRef(
          ref,
          input.depType,
          built?.jobRunId ?? available?.jobRunId ?? "",
          built ? built.endTime : available?.endMs === undefined ? undefined : timestampAtMs(available.endMs),
        ),
      );
    }
    return refs;
  }

  // --- Reaping ended jobs -----------------------------------------------------

  private reapEnded(): void {
    const batch = this.ended.splice(0);
    const succeeded: Ended[] = [];
    for (const ended of batch) {
      this.state.running.delete(ended.task);
      if (ended.outcome.kind === "success") {
        succeeded.push(ended);
        for (const output of ended.outcome.manifest.outputs)
          this.builtManifests.set(output.str, ended.outcome.manifest);
      } else {
        this.failures.handle(ended, ended.outcome);
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
        this.state.emit(partitionStatusChanged(output, PartitionStatus.PARTITION_AVAILABLE, ""), jobRunId);
      }
      this.plan.succeed(task);
      this.jobsSucceeded++;
      this.partitionsBuilt += outputs.length;
    }
  }
}
