/**
 * @module A worker (`databuild worker`): one member of the pool that runs
 * job runs builds offer through the log (--launcher worker), on whatever
 * host it runs. It joins with WorkerStarted (its slots, labels and lease),
 * heartbeats, takes offers it can run atomically (one worker per offer),
 * runs each through the same exec wrapper as a local build, and records the
 * run's job.exec events in the offering build's name.
 *
 * Exactly once across hosts rests on three things. A take is decided inside
 * an atomic append, on the board as the log holds it. Everything a worker
 * records for a run is fenced: once it was declared lost, nothing more of
 * it is recorded. And a worker that cannot renew its lease stops its jobs
 * after a third of the lease, well before anyone may declare it lost (the
 * whole lease), so a job declared lost has stopped before it runs again.
 */
import { hostname as osHostname } from "node:os";
import { ExitCategory, type BuildEvent, type JobRunRequest } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import type { EventLog, LoggedEvent } from "../core/event-log.ts";
import { newId } from "../core/ids.ts";
import type { JobOutcome, JobRunner, RunningJob } from "../core/job-runner.ts";
import { newEvent } from "../core/new-event.ts";
import { canRun, WORKER_BOARD_KINDS, type Offer } from "../core/projections/worker-board.ts";
import { decideTake, PROC_HOST, type HostProcesses } from "../coordination/index.ts";
import { EventRecorder } from "../executor/event-recorder.ts";
import { BoardFollower } from "./board-follower.ts";
import { missingEnd } from "./missing-end.ts";
import { settleWithin } from "./settle-within.ts";
import { declareLostWorkers } from "./declare-lost-worker.ts";

const RUN_ENDS: ReadonlySet<string> = new Set(["partitionManifest", "jobExecFail"]);

export interface WorkerOptions {
  /** Job run slots (a job takes its `requires.slots`, default 1). */
  readonly slots: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly heartbeatMs: number;
  /** The lease: others may declare this worker lost after this long without a heartbeat. */
  readonly heartbeatTimeoutMs: number;
  /** Runs the job processes (the exec wrapper's ProcessJobRunner). */
  readonly runner: JobRunner;
  readonly version: string;
  /** A line of what the worker does (stderr). */
  readonly say: (line: string) => void;
  readonly pollIntervalMs?: number;
  readonly host?: HostProcesses;
}

interface HeldRun {
  readonly offer: Offer;
  readonly handle: RunningJob;
  readonly recorder: EventRecorder;
  readonly startedMs: number;
  /** Its end (manifest or jobExecFail) is durable: nothing is missing if later events cannot be recorded. */
  ended: boolean;
}

/** A run whose events could not all be recorded: its end is recorded once the log answers again. */
interface UnrecordedEnd {
  readonly request: JobRunRequest;
  /** The worker id that held it: if that worker was declared lost, the declaration ended the run already. */
  readonly workerId: string;
  readonly reason: string;
}

export class Worker {
  workerId = "";
  private readonly follower: BoardFollower;
  private readonly host: HostProcesses;
  private readonly hostname: string;
  private readonly held = new Map<string, HeldRun>();
  private readonly unrecorded = new Map<string, UnrecordedEnd>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastBeatOkMs = 0;
  private lastBeatError: string | undefined;
  private beating = false;
  private selfFenced = false;
  private taking = false;
  private takeAgain = false;
  private stopping = false;
  private finishing = false;
  /** Job runs this worker launched (a take is launched once). */
  private readonly launched = new Set<string>();
  /** Where among the oldest offers this worker starts looking (see takeOffers). */
  private readonly spread = Math.floor(Math.random() * 1024);
  private registering: Promise<void> | undefined;
  private stopped!: () => void;
  private readonly finished = new Promise<void>((resolve) => (this.stopped = resolve));

  constructor(
    private readonly log: EventLog,
    private readonly options: WorkerOptions,
  ) {
    this.host = options.host ?? PROC_HOST;
    this.hostname = options.host?.hostname ?? osHostname();
    this.follower = new BoardFollower(log, WORKER_BOARD_KINDS, (events) => this.onEvents(events), {
      pollIntervalMs: options.pollIntervalMs,
      note: (text) => options.say(text),
    });
  }

  /** Joins the pool and works until `drain` or `stopNow` ends it. */
  async run(): Promise<void> {
    await this.follower.start();
    // Asked to stop meanwhile: finishIfIdle already ran (or runs) without this worker having joined.
    if (!this.stopping) await this.register();
    if (!this.stopping) {
      this.heartbeatTimer = setInterval(() => void this.tick(), this.options.heartbeatMs);
      this.scheduleTake();
    } else void this.finishIfIdle();
    await this.finished;
  }

  /** Takes nothing more, lets the running jobs finish, then leaves the pool. */
  drain(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (this.held.size > 0)
      this.options.say(`finishing ${this.held.size} running job run(s) before stopping (again to stop them)`);
    void this.finishIfIdle();
  }

  /** Stops the running jobs (they end as cancelled), then leaves the pool. */
  stopNow(reason: string): void {
    this.stopping = true;
    for (const run of this.held.values()) run.handle.cancel(reason);
    void this.finishIfIdle();
  }

  get runningJobRuns(): number {
    return this.held.size;
  }

  private async register(): Promise<void> {
    this.workerId = newId();
    const { options } = this;
    const started = newEvent(
      { buildRequestId: "" },
      payload("workerStarted", {
        workerId: this.workerId,
        hostname: this.hostname,
        pid: this.host.pid,
        slots: options.slots,
        labels: { ...options.labels },
        heartbeatIntervalMs: options.heartbeatMs,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs,
        version: options.version,
      }),
    );
    const sentAt = Date.now();
    // Atomically with reading what came since the board's cursor: a plain append would move the
    // cursor past events the watch has not delivered yet (a take by another worker, say).
    const outcome = await this.log.appendAtomically(this.follower.cursor, this.follower.filter, (found) => {
      this.follower.apply(found);
      return { append: [started], result: undefined };
    });
    // Peers judge the lease from the event's timestamp, not from when its append returned.
    this.lastBeatOkMs = sentAt;
    this.selfFenced = false;
    this.follower.applyAppended([started], outcome.offsets);
    const labels = Object.entries(options.labels).map(([k, v]) => `${k}=${v}`);
    options.say(
      `worker ${this.workerId} joined the pool on ${this.hostname} (${options.slots} slot(s)${labels.length > 0 ? `, labels ${labels.join(", ")}` : ""})`,
    );
  }

  private onEvents(events: readonly LoggedEvent[]): void {
    for (const { event } of events) {
      const p = event.event;
      // A take of this worker's, seen in the log: launched here whether takeOffers made it just now or
      // its append failed after committing (its answer lost with the connection).
      if (p.case === "jobRunTaken" && p.value.workerId === this.workerId && !this.held.has(event.jobRunId)) {
        const offer = this.follower.board.offer(event.jobRunId);
        if (offer && !this.launched.has(event.jobRunId)) {
          this.launched.add(event.jobRunId);
          this.launch(offer);
        }
      } else if (p.case === "workerLost" && p.value.workerId === this.workerId)
        this.onDeclaredLost(p.value.reason, p.value.detectedBy);
      else if (p.case === "jobCancels")
        for (const id of p.value.jobRunIds)
          this.held.get(id)?.handle.cancel(p.value.reason || "its build cancelled it");
      else if (p.case === "buildRequestLost")
        for (const run of this.held.values())
          if (run.offer.buildRequestId === event.buildRequestId)
            run.handle.cancel("its build request was declared lost");
    }
    this.scheduleTake();
  }

  /** Declared lost (this worker was cut off past its lease): its runs were ended for it; join again as a new worker. */
  private onDeclaredLost(reason: string, detectedBy: string): void {
    this.options.say(`this worker (${this.workerId}) was declared lost by ${detectedBy}: ${reason}`);
    for (const run of this.held.values()) run.handle.cancel(`worker ${this.workerId} was declared lost`);
    if (this.stopping) return;
    this.registering ??= this.register()
      .catch((error: unknown) => this.options.say(`could not join the pool again: ${(error as Error).message}`))
      .finally(() => (this.registering = undefined));
  }

  private freeSlots(): number {
    let used = 0;
    for (const run of this.held.values()) used += run.offer.requires.slots;
    return this.options.slots - used;
  }

  private scheduleTake(): void {
    if (this.taking) {
      this.takeAgain = true;
      return;
    }
    this.taking = true;
    void this.takeOffers()
      .catch((error: unknown) => this.options.say(`could not take work: ${(error as Error).message}`))
      .finally(() => {
        this.taking = false;
        if (this.stopping) void this.finishIfIdle();
        else if (this.takeAgain) {
          this.takeAgain = false;
          this.scheduleTake();
        }
      });
  }

  /**
   * Takes offers this worker can run while it has free slots, oldest first,
   * as many as fit in one atomic append. Idle workers all see the same
   * oldest offers; each starts at its own place among the few oldest, so
   * they seldom race for the same one.
   */
  private async takeOffers(): Promise<void> {
    const tried = new Set<string>();
    for (;;) {
      if (this.stopping || this.selfFenced || this.registering || !this.workerId) return;
      const free = this.freeSlots();
      if (free <= 0) return;
      const candidates = [...this.follower.board.untaken()]
        .filter((o) => !tried.has(o.jobRunId) && canRun(o.requires, this.options.labels, free))
        .slice(0, 4 * free);
      if (candidates.length === 0) return;
      const start = this.spread % candidates.length;
      const ordered = [...candidates.slice(start), ...candidates.slice(0, start)];
      for (const o of ordered) tried.add(o.jobRunId);
      let taken: { offer: Offer; event: BuildEvent }[] = [];
      const outcome = await this.log.appendAtomically(this.follower.cursor, this.follower.filter, (found) => {
        this.follower.apply(found);
        taken = [];
        let left = this.freeSlots();
        for (const offer of ordered) {
          if (left < offer.requires.slots) continue;
          const decision = decideTake(
            this.follower.board,
            this.workerId,
            this.hostname,
            offer.jobRunId,
            left,
            Date.now(),
          );
          if (!("event" in decision)) continue;
          taken.push({ offer, event: decision.event });
          left -= offer.requires.slots;
        }
        return { append: taken.map((t) => t.event), result: undefined };
      });
      if (taken.length === 0) continue;
      this.follower.applyAppended(
        taken.map((t) => t.event),
        outcome.offsets,
      );
      // onEvents launched them, as it launches any take naming this worker (see there).
    }
  }

  private launch(offer: Offer): void {
    const cap = Math.floor(this.options.heartbeatTimeoutMs / 3);
    const request = { ...offer.request, killGraceMs: Math.min(offer.request.killGraceMs || cap, cap) };
    const workerId = this.workerId;
    const label = request.task?.job?.label ?? "";
    // Set once the job starts; the recorder's callbacks may come before (never, in practice).
    const self: { run?: HeldRun } = {};
    const recorder = new EventRecorder(this.log, [], {
      buildRequestId: request.buildRequestId,
      // Fenced on this worker's loss, and on its build request's: either ended the run already.
      filter: { kinds: ["workerLost", "buildRequestLost"] },
      checkedUpTo: this.follower.cursor,
      check: (found) => {
        for (const { event } of found) {
          const p = event.event;
          if (p.case === "workerLost" && p.value.workerId === workerId)
            return { detectedBy: p.value.detectedBy, reason: p.value.reason };
          if (p.case === "buildRequestLost" && event.buildRequestId === request.buildRequestId)
            return {
              detectedBy: p.value.detectedByBuildRequestId,
              reason: `its build request was lost: ${p.value.reason}`,
            };
        }
        return undefined;
      },
      onLost: () =>
        self.run?.handle.cancel(`worker ${workerId} was declared lost: nothing more of this run is recorded`),
      onAppendFailed: (error) => {
        const message = (error as Error).message;
        this.options.say(
          `job run ${request.jobRunId} (${label}): its events cannot be recorded (${message}); stopping it`,
        );
        self.run?.handle.cancel(`its events cannot be recorded: ${message}`);
        if (self.run && !self.run.ended)
          this.unrecorded.set(request.jobRunId, {
            request,
            workerId,
            reason: `worker ${workerId} could not record its events (${message})`,
          });
      },
      retryUnavailableMs: this.selfFenceAfterMs(),
      // The build waits for the run's end; its steps before that go in the same batch.
      urgentKinds: RUN_ENDS,
      onDurable: (events) => {
        const run = self.run;
        if (run && events.some((e) => e.event.case === "partitionManifest" || e.event.case === "jobExecFail"))
          run.ended = true;
      },
    });
    recorder.markScheduled(request.jobRunId);
    const handle = this.options.runner.start(request, (event) => recorder.record(event));
    const run: HeldRun = {
      offer,
      handle,
      recorder,
      startedMs: Date.now(),
      ended: false,
    };
    self.run = run;
    this.held.set(request.jobRunId, run);
    this.options.say(`took ${label} (job run ${request.jobRunId}, build request ${request.buildRequestId})`);
    void handle.done.then(async (outcome) => {
      await recorder.durable().catch(() => undefined);
      this.held.delete(request.jobRunId);
      this.options.say(
        `${label} (job run ${request.jobRunId}) ${describeOutcome(outcome)} after ${((Date.now() - run.startedMs) / 1000).toFixed(1)} s`,
      );
      if (this.stopping) void this.finishIfIdle();
      else this.scheduleTake();
    });
  }

  /** The heartbeat, and what rides on it: the self-fence, ends left unrecorded, peers gone silent. */
  private async tick(): Promise<void> {
    if (!this.workerId || this.registering) return;
    // A cut link fails no append: it hangs. The lease is judged by the time since the last
    // heartbeat that was recorded, whatever the one in flight does.
    this.checkLease();
    if (this.beating) return;
    this.beating = true;
    const beat = newEvent(
      { buildRequestId: "" },
      payload("workerHeartbeat", { workerId: this.workerId, runningJobRunIds: [...this.held.keys()] }),
    );
    try {
      const sentAt = Date.now();
      await settleWithin(this.log.append([beat]), this.selfFenceAfterMs());
      this.lastBeatOkMs = sentAt;
      if (this.selfFenced) {
        this.selfFenced = false;
        this.options.say("the event log answers again");
      }
    } catch (error) {
      this.lastBeatError = (error as Error).message;
      this.checkLease();
      return;
    } finally {
      this.beating = false;
    }
    await this.recordUnrecordedEnds();
    const peers = [...this.follower.board.workers.live()].map((w) => w.workerId).filter((id) => id !== this.workerId);
    try {
      for (const lost of await declareLostWorkers(this.log, this.follower, peers, this.workerId, this.host))
        this.options.say(`declared worker ${lost.worker.workerId} on ${lost.worker.hostname} lost: ${lost.reason}`);
    } catch {
      // The next tick tries again.
    }
    this.scheduleTake();
  }

  /**
   * How long after its last recorded heartbeat the worker stops its jobs
   * when it cannot renew its lease: a third of it. Jobs get at most another
   * third between SIGTERM and SIGKILL (`launch` caps their kill grace), so
   * they are gone before anyone may declare the worker lost.
   */
  private selfFenceAfterMs(): number {
    return this.options.heartbeatTimeoutMs / 3;
  }

  /** Stops every job once the last recorded heartbeat is older than the self-fence allows. */
  private checkLease(): void {
    const silentMs = Date.now() - this.lastBeatOkMs;
    if (this.selfFenced || silentMs <= this.selfFenceAfterMs()) return;
    this.selfFenced = true;
    const why = `this worker cannot reach the event log for ${(silentMs / 1000).toFixed(1)} s (${this.lastBeatError ?? "its heartbeats do not complete"}); its lease runs out after ${this.options.heartbeatTimeoutMs / 1000} s`;
    this.options.say(`${why}: stopping its ${this.held.size} job run(s) so that none runs twice`);
    for (const run of this.held.values()) run.handle.cancel(why);
  }

  /** Ends, in the log, the runs whose events could not all be recorded, on a path the job.exec diagram allows. */
  private async recordUnrecordedEnds(): Promise<void> {
    for (const [id, end] of this.unrecorded) {
      let events: BuildEvent[] = [];
      try {
        // Decided on the log as it is: a peer may have declared this worker lost (and ended the run)
        // while it was cut off, before the watch has shown it here.
        const outcome = await this.log.appendAtomically(this.follower.cursor, this.follower.filter, (found) => {
          this.follower.apply(found);
          const offer = this.follower.board.offer(id);
          events = offer?.takenBy === end.workerId ? missingEnd(offer, end.reason) : [];
          return { append: events, result: undefined };
        });
        this.follower.applyAppended(events, outcome.offsets);
        this.unrecorded.delete(id);
      } catch {
        return;
      }
    }
  }

  private async finishIfIdle(): Promise<void> {
    // A take in flight may commit: its run must be run (scheduleTake calls back once it settles).
    if (this.held.size > 0 || this.taking || this.finishing) return;
    this.finishing = true;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    await this.recordUnrecordedEnds();
    if (this.workerId && !this.follower.board.workers.worker(this.workerId)?.ended) {
      await this.log
        .append([
          newEvent(
            { buildRequestId: "" },
            payload("workerStopped", { workerId: this.workerId, reason: "asked to stop" }),
          ),
        ])
        .catch(() => undefined);
    }
    this.follower.stop();
    await this.options.runner.close?.();
    this.stopped();
  }
}

function describeOutcome(outcome: JobOutcome): string {
  if (outcome.kind === "success") return "succeeded";
  return `failed (${ExitCategory[outcome.category]}: ${outcome.message})`;
}
