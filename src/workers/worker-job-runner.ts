/**
 * @module The worker launcher (`--launcher worker`): a JobRunner that hands
 * each command job run to the worker pool through the log instead of
 * launching it. It records a JobRunOffered through the build (so the fence
 * covers it); a worker takes it atomically and records the run's job.exec
 * events itself, in the build's name. This runner follows the log for
 * them, hands them to the build as already recorded (`recordedAt`), and
 * settles the run from them. It also watches the pool: a worker holding
 * one of its runs that goes silent past its lease is declared lost (once,
 * atomically), which ends the run as EXIT_LOST, for the build to retry; and a
 * run that no live worker can take is reported, not left silently waiting.
 *
 * In-process (TypeScript function) jobs cannot leave the process: they run
 * on `local`, as with `--launcher local`.
 */
import { ExitCategory, type BuildEvent, type JobRunRequest } from "../gen/databuild_pb.ts";
import { eventPayload } from "../core/build-event.ts";
import type { EventLog, LoggedEvent } from "../core/event-log.ts";
import type { EmitRunEvent, JobOutcome, JobRunner, RunningJob } from "../core/job-runner.ts";
import type { FunctionExec } from "../core/job.ts";
import { newEvent } from "../core/new-event.ts";
import { WORKER_BOARD_KINDS, type Requirements } from "../core/projections/worker-board.ts";
import { describeRequirements, PROC_HOST, workersAbleToRun, type HostProcesses } from "../coordination/index.ts";
import { BoardFollower } from "./board-follower.ts";
import { declareLostWorkers } from "./declare-lost-worker.ts";

/** The job.exec kinds a worker records that settle a run or that the build takes note of. */
const RUN_KINDS = [
  "configValidateSuccess",
  "configValidateFail",
  "taskLaunchSuccess",
  "taskLaunchFail",
  "taskSuccess",
  "taskFailed",
  "partitionManifest",
  "jobExecFail",
] as const;
const RUN_KIND_SET = new Set<string>(RUN_KINDS);

/** How often the pool is checked (lost workers, runs nobody can take). */
const CHECK_EVERY_MS = 1000;
/** A run no live worker can take is reported at once, then again this often while it still waits. */
const WAITING_REPEAT_MS = 30_000;
/** A cancelled run no worker took is settled after this long even if the cancel is never seen in the log. */
const UNTAKEN_CANCEL_GRACE_MS = 10_000;

export interface WorkerJobRunnerOptions {
  /** What each job needs of its worker (from its declaration): by job label. */
  readonly requirementsOf?: (jobLabel: string) => Requirements | undefined;
  /** Runs in-process jobs (they cannot go to a worker). */
  readonly local?: JobRunner;
  /** A run waits for a worker no live worker can be (told once, then every 30 s). */
  readonly onWaiting?: (message: string) => void;
  readonly pollIntervalMs?: number;
  readonly host?: HostProcesses;
}

interface OfferedRun {
  readonly request: JobRunRequest;
  readonly requires: Requirements;
  readonly emit: EmitRunEvent;
  readonly settle: (outcome: JobOutcome) => void;
  settled: boolean;
  takenBy: string | undefined;
  validated: boolean;
  /** The last taskFailed, for the outcome's details. */
  failure: { exitCode: number; signal: string; stderrTail: string[] } | undefined;
  cancelledAtMs: number | undefined;
  lastWaitingNoteMs: number;
}

export class WorkerJobRunner implements JobRunner {
  private readonly runs = new Map<string, OfferedRun>();
  private readonly follower: BoardFollower;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  /** Offers waiting for the board to be loaded. */
  private heldOffers: (() => void)[] = [];
  /** Every run's emit, also after it settled: its later events (and its take) still reach the build's view. */
  private readonly emitters = new Map<string, EmitRunEvent>();

  constructor(
    private readonly log: EventLog,
    private readonly options: WorkerJobRunnerOptions = {},
  ) {
    this.follower = new BoardFollower(log, WORKER_BOARD_FILTER_KINDS, (events) => this.onEvents(events), {
      pollIntervalMs: options.pollIntervalMs,
    });
  }

  warm(functionRuns: number): void {
    this.options.local?.warm?.(functionRuns);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.follower.stop();
    await this.options.local?.close?.();
  }

  start(request: JobRunRequest, emit: EmitRunEvent, fn?: FunctionExec): RunningJob {
    if (fn) {
      if (!this.options.local) throw new Error(`in-process job ${request.task?.job?.label} needs a local runner`);
      return this.options.local.start(request, emit, fn);
    }
    this.startFollowing();
    this.timer ??= setInterval(() => void this.check(), CHECK_EVERY_MS);
    const label = request.task?.job?.label ?? "";
    const requires = this.options.requirementsOf?.(label) ?? { labels: {}, slots: 1 };
    let settle!: (outcome: JobOutcome) => void;
    const done = new Promise<JobOutcome>((resolve) => (settle = resolve));
    const run: OfferedRun = {
      request,
      requires,
      emit,
      settle,
      settled: false,
      takenBy: undefined,
      validated: false,
      failure: undefined,
      cancelledAtMs: undefined,
      lastWaitingNoteMs: 0,
    };
    this.runs.set(request.jobRunId, run);
    this.emitters.set(request.jobRunId, emit);
    const offer = () =>
      emit(
        newEvent(
          { buildRequestId: request.buildRequestId, jobRunId: request.jobRunId },
          eventPayload("jobRunOffered", {
            request,
            requires: { labels: { ...requires.labels }, slots: requires.slots },
          }),
        ),
      );
    // Offered only once the board follows the log: its load folds in what came before without
    // showing it, so a run offered earlier could end unseen.
    if (this.follower.ready) offer();
    else this.heldOffers.push(offer);
    return {
      done,
      cancel: () => {
        // The build records jobCancels before cancelling (cancellation.ts): the worker holding the run stops it.
        run.cancelledAtMs ??= Date.now();
      },
    };
  }

  /** Loads the board (once; again after a failure), then makes the offers that waited for it. */
  private startFollowing(): void {
    this.follower
      .start()
      .then(() => {
        const offers = this.heldOffers.splice(0);
        for (const offer of offers) offer();
      })
      .catch(() => undefined); // check() tries again
  }

  /** Every event of the board's kinds, once, in offset order (the board already applied them). */
  private onEvents(events: readonly LoggedEvent[]): void {
    for (const { event, offset } of events) {
      const p = event.event;
      if (p.case === "workerLost") {
        for (const id of p.value.lostJobRunIds) {
          const run = this.runs.get(id);
          // A validated run's own jobExecFail follows in the same transaction.
          if (run && !run.validated) this.end(id, run, lostOutcome(p.value.reason, p.value.workerId));
        }
        continue;
      }
      const run = this.runs.get(event.jobRunId);
      if (!run || run.settled) {
        // A late step of a run settled already (a jobExecFail after its workerLost): the view still takes it.
        if (event.buildRequestId !== "" && (p.case === "jobRunTaken" || RUN_KIND_SET.has(p.case ?? "")))
          this.emitters.get(event.jobRunId)?.(event, offset);
        continue;
      }
      if (p.case === "jobRunTaken") {
        run.takenBy = p.value.workerId;
        run.emit(event, offset);
      } else if (p.case === "jobCancels" && run.takenBy === undefined) {
        this.end(event.jobRunId, run, cancelledOutcome(p.value.reason));
      } else if (RUN_KIND_SET.has(p.case ?? "")) this.onRunEvent(event, offset, run);
    }
  }

  private onRunEvent(event: BuildEvent, offset: number, run: OfferedRun): void {
    run.emit(event, offset);
    const p = event.event;
    switch (p.case) {
      case "configValidateSuccess":
        run.validated = true;
        break;
      case "taskFailed":
        run.failure = { exitCode: p.value.exitCode, signal: p.value.signal, stderrTail: [...p.value.stderrTail] };
        break;
      case "partitionManifest":
        this.end(event.jobRunId, run, { kind: "success", manifest: p.value });
        break;
      case "jobExecFail":
        this.end(event.jobRunId, run, {
          kind: "failure",
          category: p.value.category,
          message: p.value.message,
          exitCode: run.failure?.exitCode || undefined,
          signal: run.failure?.signal || undefined,
          stderrTail: run.failure?.stderrTail ?? [],
        });
        break;
    }
  }

  private end(jobRunId: string, run: OfferedRun, outcome: JobOutcome): void {
    if (run.settled) return;
    run.settled = true;
    this.runs.delete(jobRunId);
    run.settle(outcome);
  }

  /** Declares lost the workers holding this build's runs that went silent; reports runs nobody can take. */
  private async check(): Promise<void> {
    if (this.checking) return;
    if (!this.follower.ready) {
      this.startFollowing();
      return;
    }
    this.checking = true;
    try {
      const now = Date.now();
      const holders = new Set<string>();
      for (const [id, run] of this.runs) {
        if (run.takenBy !== undefined) holders.add(run.takenBy);
        else if (run.cancelledAtMs !== undefined && now - run.cancelledAtMs > UNTAKEN_CANCEL_GRACE_MS)
          this.end(id, run, cancelledOutcome("cancelled before any worker took it"));
        else this.noteIfWaiting(run, now);
      }
      if (holders.size > 0) {
        const buildRequestId = this.runs.values().next().value?.request.buildRequestId ?? "";
        await declareLostWorkers(this.log, this.follower, [...holders], buildRequestId, this.options.host ?? PROC_HOST);
      }
    } catch {
      // The build's own appends report a log that went away; the next check tries again.
    } finally {
      this.checking = false;
    }
  }

  private noteIfWaiting(run: OfferedRun, now: number): void {
    const able = workersAbleToRun(this.follower.board, run.requires, now);
    if (able.length > 0) return;
    if (now - run.lastWaitingNoteMs < WAITING_REPEAT_MS) return;
    run.lastWaitingNoteMs = now;
    const live = [...this.follower.board.workers.live()].filter((w) => !this.follower.board.workers.isExpired(w, now));
    const pool =
      live.length === 0
        ? "no worker is running on this log (start one: databuild worker --db ...)"
        : `the live workers (${live.length}) lack what it needs`;
    this.options.onWaiting?.(
      `job ${JSON.stringify(run.request.task?.job?.label ?? "")} (job run ${run.request.jobRunId}) waits for a worker: it needs ${describeRequirements(run.requires)}, and ${pool}`,
    );
  }
}

const WORKER_BOARD_FILTER_KINDS = [...new Set([...WORKER_BOARD_KINDS, ...RUN_KINDS])];

function lostOutcome(reason: string, workerId: string): JobOutcome {
  return {
    kind: "failure",
    category: ExitCategory.EXIT_LOST,
    message: `lost with worker ${workerId} (${reason})`,
    stderrTail: [],
  };
}

function cancelledOutcome(reason: string): JobOutcome {
  return { kind: "failure", category: ExitCategory.EXIT_CANCELLED, message: reason, stderrTail: [] };
}
