/**
 * @module One job run submitted to SLURM: its job.exec path, from the lines
 * the wrapper on the node appends to the run's events file and from what
 * SLURM says of the job. The runner (slurm-job-runner.ts) feeds it both and
 * ticks it; it hands every event to the build and settles the run once.
 *
 * - The wrapper's events are handed on as they come, except the end of a
 *   failure (taskFailed, taskLaunchFail or configValidateFail, then
 *   jobExecFail): that waits (a few seconds at most) for SLURM's final state,
 *   which may say more than the wrapper knew. A cancel or a time limit from
 *   SLURM reaches the job as a plain signal; a node failure looks like one.
 * - A job SLURM reports ended (or no longer knows) whose wrapper wrote no end
 *   gets the rest of its path here, once the file had time to show its
 *   last lines: lost (EXIT_LOST, retried under --retries) when it was
 *   killed, or its node failed; cancelled, timed out, out of memory when
 *   SLURM says so; a launch failure when the wrapper never started.
 */
import { fromJsonString } from "@bufbuild/protobuf";
import { BuildEventSchema, ExitCategory, type BuildEvent, type JobRunRequest } from "../../gen/databuild_pb.ts";
import { eventPayload } from "../../core/build-event.ts";
import { configValidateSuccess } from "../../core/hot-payloads.ts";
import type { EmitRunEvent, JobOutcome, RunningJob } from "../../core/job-runner.ts";
import { newEvent } from "../../core/new-event.ts";
import type { RunFiles } from "./batch-script.ts";
import { EventsFile } from "./events-file.ts";
import type { SlurmCommands, SlurmJobDetails, SlurmJobState } from "./slurm-commands.ts";
import { pendingForever, slurmEnd, VANISHED, type SlurmEnd } from "./slurm-states.ts";

/** The job.exec steps a wrapper writes; anything else in the file is ignored. */
const RUN_KINDS = new Set([
  "configValidateSuccess",
  "configValidateFail",
  "taskLaunchSuccess",
  "taskLaunchFail",
  "jobHeartbeat",
  "logEntry",
  "taskSuccess",
  "taskFailed",
  "partitionManifest",
  "jobExecFail",
]);
const FAILURE_STEPS = new Set(["configValidateFail", "taskLaunchFail", "taskFailed"]);

export interface SlurmRunTimings {
  /** After SLURM reports the job ended, how long the events file may take to show the wrapper's last lines. */
  readonly endGraceMs: number;
  /** Longest a failure's end waits for SLURM's final state. */
  readonly holdMaxMs: number;
  /** A job pending this long is reported (then every `waitingRepeatMs`). */
  readonly waitingAfterMs: number;
  readonly waitingRepeatMs: number;
  /** After a cancel through the batch script, how long before SLURM cancels the whole job. */
  readonly fullCancelAfterMs: number;
}

export interface SlurmRunContext {
  readonly slurm: SlurmCommands;
  readonly timings: SlurmRunTimings;
  readonly onWaiting?: (message: string) => void;
  /** Something worth telling that changes nothing (an event the file should not hold). */
  readonly onNote?: (message: string) => void;
  /** Called once, when the run settles. */
  readonly onSettled: (run: SlurmRun, outcome: JobOutcome) => void;
}

export class SlurmRun implements RunningJob {
  readonly done: Promise<JobOutcome>;
  readonly events: EventsFile;
  jobId: string | undefined;
  settled = false;
  private resolve!: (outcome: JobOutcome) => void;
  private linesSeen = 0;
  private validated = false;
  private launched = false;
  /** A failure's end, waiting for SLURM's final state. */
  private held: BuildEvent[] = [];
  private heldSince = 0;
  private end: (SlurmEnd & { state: string; atMs: number }) | undefined;
  private details: SlurmJobDetails | undefined;
  private missing = 0;
  private pendingSince: number | undefined;
  private lastWaitingNote = 0;
  /** The reason the last note gave: a new reason is told at once (it may be one the job never starts for). */
  private lastWaitingReason: string | undefined;
  private reason = "";
  private cancelReason: string | undefined;
  private cancelSent: "batch" | "all" | undefined;
  private fullCancelDue = 0;
  private ignored = 0;

  constructor(
    readonly request: JobRunRequest,
    readonly files: RunFiles,
    private readonly emit: EmitRunEvent,
    private readonly context: SlurmRunContext,
  ) {
    this.events = new EventsFile(files.events);
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }

  private get label(): string {
    return JSON.stringify(this.request.task?.job?.label ?? "");
  }

  private get scope() {
    return { buildRequestId: this.request.buildRequestId, jobRunId: this.request.jobRunId };
  }

  // A property, so that a detached `run.cancel` still works.
  readonly cancel = (reason: string): void => {
    if (this.settled) return;
    this.cancelReason ??= reason;
    if (this.jobId !== undefined) this.sendCancel();
  };

  /** sbatch answered: the job is queued. */
  submitted(jobId: string): void {
    this.jobId = jobId;
    if (this.cancelReason !== undefined) this.sendCancel();
  }

  /** sbatch failed (or the run's files could not be written): the job never reached SLURM. */
  submitFailed(message: string): void {
    if (this.settled) return;
    const category = this.cancelReason !== undefined ? ExitCategory.EXIT_CANCELLED : ExitCategory.EXIT_LAUNCH_FAILURE;
    this.finish(this.missingEnd(category, `job ${this.label} could not be submitted to SLURM: ${message}`));
  }

  /** Lines the wrapper appended to the events file. */
  onLines(lines: readonly string[], nowMs: number): void {
    for (const line of lines) {
      if (this.settled) return;
      if (line.trim() === "") continue;
      this.linesSeen++;
      let event: BuildEvent;
      try {
        event = fromJsonString(BuildEventSchema, line, { ignoreUnknownFields: true });
      } catch (error) {
        this.ignore(`a line that is not a BuildEvent (${(error as Error).message})`);
        continue;
      }
      const kind = event.event.case ?? "";
      if (event.jobRunId !== this.request.jobRunId || event.buildRequestId !== this.request.buildRequestId) {
        this.ignore(`an event of another job run (${event.jobRunId || "none"})`);
        continue;
      }
      if (!RUN_KINDS.has(kind)) {
        this.ignore(`an event that is no job.exec step (${kind || "empty"})`);
        continue;
      }
      if (this.held.length > 0 || FAILURE_STEPS.has(kind) || kind === "jobExecFail") {
        if (this.held.length === 0) this.heldSince = nowMs;
        this.held.push(event);
        continue;
      }
      this.emit(event);
      if (kind === "configValidateSuccess") this.validated = true;
      else if (kind === "taskLaunchSuccess") this.launched = true;
      else if (event.event.case === "partitionManifest") {
        this.settled = true;
        this.context.onSettled(this, { kind: "success", manifest: event.event.value });
        this.resolve({ kind: "success", manifest: event.event.value });
      }
    }
    this.releaseHeld(nowMs);
  }

  /** What squeue says now; undefined: SLURM does not know the job (any more). */
  onState(state: SlurmJobState | undefined, nowMs: number): void {
    if (this.settled || this.jobId === undefined) return;
    if (state === undefined) {
      // Twice in a row: one answer may race the job's submission or a slurmctld restart.
      if (++this.missing >= 2) this.ended(VANISHED, nowMs);
      return;
    }
    this.missing = 0;
    this.reason = state.reason;
    if (state.state === "PENDING") this.pendingSince ??= nowMs;
    else this.pendingSince = undefined;
    if (slurmEnd(state.state)) this.ended(state.state, nowMs);
  }

  /** Time passing: a held end released, a lost run declared, a cancel pressed, a wait reported. */
  tick(nowMs: number): void {
    if (this.settled) return;
    this.releaseHeld(nowMs);
    if (this.settled) return;
    if (this.cancelSent === "batch" && nowMs >= this.fullCancelDue) this.sendCancel(true);
    const { timings } = this.context;
    if (this.end && nowMs - this.end.atMs >= timings.endGraceMs) {
      this.declareEnded();
      return;
    }
    if (this.pendingSince !== undefined && this.cancelReason === undefined) {
      const waited = nowMs - this.pendingSince;
      const forever = pendingForever(this.reason);
      if (
        (forever || waited >= timings.waitingAfterMs) &&
        (this.lastWaitingNote === 0 ||
          this.reason !== this.lastWaitingReason ||
          nowMs - this.lastWaitingNote >= timings.waitingRepeatMs)
      ) {
        this.lastWaitingNote = nowMs;
        this.lastWaitingReason = this.reason;
        this.context.onWaiting?.(
          `job ${this.label} (job run ${this.request.jobRunId}) waits in SLURM's queue as job ${this.jobId}: pending for ${Math.round(waited / 1000)} s (${this.reason || "no reason given"})` +
            (forever ? "; as submitted it may never start (see its partition, --slurm-partition and --slurm-arg)" : ""),
        );
      }
    }
  }

  private ended(state: string, nowMs: number): void {
    if (this.end) return;
    this.end = { ...slurmEnd(state)!, state, atMs: nowMs };
    // For the message, should the wrapper not have written the end.
    if (state !== VANISHED && this.jobId !== undefined)
      this.context.slurm.details(this.jobId).then(
        (details) => (this.details = details),
        () => undefined,
      );
  }

  private sendCancel(full = false): void {
    if (this.jobId === undefined || this.cancelSent === "all") return;
    // Once the wrapper runs, the batch script hands it the SIGTERM and the job stops within its
    // kill grace; before that (pending, starting) there is nothing to stop gracefully.
    const how = !full && this.linesSeen > 0 && this.cancelSent === undefined ? "batch" : "all";
    this.cancelSent = how;
    this.fullCancelDue = Date.now() + (this.request.killGraceMs || 5000) + this.context.timings.fullCancelAfterMs;
    this.context.slurm.cancel(this.jobId, how).catch((error: Error) => {
      this.context.onNote?.(`could not cancel SLURM job ${this.jobId}: ${error.message}`);
      // Pressed again at the next tick, in full.
      if (how === "batch") this.fullCancelDue = 0;
      else this.cancelSent = "batch";
    });
  }

  /** Hands on a complete failure end once SLURM's word is in (or it took too long, or we cancelled). */
  private releaseHeld(nowMs: number): void {
    if (this.settled || this.held.length === 0) return;
    if (this.held[this.held.length - 1]!.event.case !== "jobExecFail") return;
    const waited = nowMs - this.heldSince >= this.context.timings.holdMaxMs;
    if (!this.end && this.cancelReason === undefined && !waited) return;
    const events = this.held;
    this.held = [];
    const failed = events.find((e) => e.event.case === "taskFailed");
    if (failed) this.adjustFailure(events);
    this.finish(events);
  }

  /** What SLURM (or our own cancel) says of a failure after launch replaces the wrapper's account of it. */
  private adjustFailure(events: BuildEvent[]): void {
    let category: ExitCategory | undefined;
    let message: string | undefined;
    const wrapperMessage = () => {
      const end = events.find((e) => e.event.case === "jobExecFail");
      return end?.event.case === "jobExecFail" ? end.event.value.message : "";
    };
    if (this.cancelReason !== undefined) {
      category = ExitCategory.EXIT_CANCELLED;
      message = `job ${this.label} was cancelled: ${this.cancelReason} (SLURM job ${this.jobId}); ${wrapperMessage()}`;
    } else if (this.end?.overridesWrapper) {
      category = this.end.category;
      message = `SLURM job ${this.jobId} ${this.end.what}; the wrapper reported: ${wrapperMessage()}`;
    }
    if (category === undefined || message === undefined) return;
    for (const event of events) {
      const p = event.event;
      if (p.case === "taskFailed" || p.case === "jobExecFail") {
        p.value.category = category;
        p.value.message = message;
      }
    }
  }

  /** The run ended in SLURM with no end from its wrapper: the rest of its path, from where the file left it. */
  private declareEnded(): void {
    const end = this.end!;
    let category = end.category;
    const where = this.details?.nodes && this.details.nodes !== "(null)" ? ` on ${this.details.nodes}` : "";
    const exit =
      this.details?.exitCode && this.details.exitCode !== "0:0" ? `, exit code ${this.details.exitCode}` : "";
    let message = `SLURM job ${this.jobId}${where} ${end.what} (${end.state}${exit}) before the wrapper of job ${this.label} reported how it ended`;
    if (this.cancelReason !== undefined) {
      category = ExitCategory.EXIT_CANCELLED;
      message = `job ${this.label} was cancelled: ${this.cancelReason} (SLURM job ${this.jobId}, ${end.state})`;
    } else if (this.linesSeen === 0 && (end.state === "FAILED" || end.state === "COMPLETED")) {
      category = ExitCategory.EXIT_LAUNCH_FAILURE;
      message = `the wrapper of job ${this.label} did not start in SLURM job ${this.jobId}${where} (${end.state}${exit}); see ${this.files.output}`;
    } else if (category === ExitCategory.EXIT_LOST) {
      message += ": it is lost";
    }
    this.finish(this.missingEnd(category, message));
  }

  /** The rest of the path after the events so far (held ones included), ended in `category`. */
  private missingEnd(category: ExitCategory, message: string): BuildEvent[] {
    const events = this.held;
    this.held = [];
    const scope = this.scope;
    if (events.some((e) => FAILURE_STEPS.has(e.event.case ?? ""))) {
      // Only the jobExecFail is missing.
    } else if (this.launched) {
      events.push(newEvent(scope, eventPayload("taskFailed", { category, message })));
    } else {
      if (!this.validated) events.push(newEvent(scope, configValidateSuccess(this.request.task)));
      events.push(newEvent(scope, eventPayload("taskLaunchFail", { message })));
    }
    events.push(newEvent(scope, eventPayload("jobExecFail", { category, message })));
    return events;
  }

  /** Hands on the last events (ending in jobExecFail) and settles the run as they say. */
  private finish(events: readonly BuildEvent[]): void {
    if (this.settled) return;
    this.settled = true;
    for (const event of events) this.emit(event);
    const failed = events.find((e) => e.event.case === "taskFailed")?.event;
    const last = events[events.length - 1]!.event;
    const outcome: JobOutcome =
      last.case === "jobExecFail"
        ? {
            kind: "failure",
            category: last.value.category,
            message: last.value.message,
            exitCode: failed?.case === "taskFailed" ? failed.value.exitCode || undefined : undefined,
            signal: failed?.case === "taskFailed" ? failed.value.signal || undefined : undefined,
            stderrTail: failed?.case === "taskFailed" ? [...failed.value.stderrTail] : [],
          }
        : {
            kind: "failure",
            category: ExitCategory.EXIT_LOST,
            message: "the run ended without a jobExecFail",
            stderrTail: [],
          };
    this.context.onSettled(this, outcome);
    this.resolve(outcome);
  }

  private ignore(what: string): void {
    // Told once per run: a file that holds one odd line may hold many.
    if (this.ignored++ === 0)
      this.context.onNote?.(`job run ${this.request.jobRunId}: ignored ${what} in ${this.files.events}`);
  }
}
