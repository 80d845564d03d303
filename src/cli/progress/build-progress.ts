/**
 * @module Build progress folded from the event stream: counts, running jobs,
 * elapsed time and ETA. Both displays (TTY and plain) read it.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { DelegationReason, type BuildEvent, type Task } from "../../gen/databuild_pb.ts";

/**
 * When `event` happened, by its own timestamp: the displays see events only
 * once they are durable (EventRecorder), a few milliseconds later.
 */
export function eventTimeMs(event: BuildEvent): number {
  return event.timestamp ? timestampMs(event.timestamp) : Date.now();
}

export interface RunningJobInfo {
  readonly label: string;
  readonly outputs: string;
  readonly startedMs: number;
}

function jobInfo(task: Task | undefined, startedMs: number): RunningJobInfo {
  return {
    label: task?.job?.label ?? "",
    outputs: task?.config?.outputs.map((o) => o.str).join(", ") ?? "",
    startedMs,
  };
}

export class BuildProgress {
  readonly startedMs = Date.now();
  total = 0;
  succeeded = 0;
  failed = 0;
  skipped = 0;
  /** Partitions waited for while other build requests build them. */
  readonly awaited = new Set<string>();
  readonly running = new Map<string, RunningJobInfo>();
  /** Job runs that failed (jobExecFail) and may be followed by a jobFailure, which no longer carries the task. */
  private readonly failing = new Map<string, RunningJobInfo>();
  /** Task durations, for the ETA. */
  private finishedMs = 0;

  apply(event: BuildEvent): void {
    const p = event.event;
    switch (p.case) {
      case "jobGraph":
        this.total = p.value.jobGraph?.nodes.length ?? 0;
        break;
      case "partitionDelegated":
        if (p.value.reason === DelegationReason.IN_PROGRESS) this.awaited.add(p.value.partitionRef?.str ?? "");
        else this.skipped++;
        break;
      case "jobScheduleSuccess":
        this.running.set(event.jobRunId, jobInfo(p.value.task, eventTimeMs(event)));
        break;
      case "partitionManifest":
        this.succeeded++;
        this.end(event);
        break;
      case "jobExecFail": {
        const run = this.end(event);
        if (run) this.failing.set(event.jobRunId, run);
        break;
      }
      case "jobFailure":
        this.failed++;
        this.failing.delete(event.jobRunId);
        break;
    }
  }

  /**
   * The job and outputs of the job run `event` belongs to: from the event's
   * own task (older logs), else from the run's jobScheduleSuccess. Call it
   * before `apply(event)`.
   */
  jobOf(event: BuildEvent): RunningJobInfo | undefined {
    const p = event.event;
    const own = p.case === "jobFailure" ? p.value.task : undefined;
    if (own) return jobInfo(own, eventTimeMs(event));
    return this.running.get(event.jobRunId) ?? this.failing.get(event.jobRunId);
  }

  private end(event: BuildEvent): RunningJobInfo | undefined {
    const run = this.running.get(event.jobRunId);
    if (run) this.finishedMs += eventTimeMs(event) - run.startedMs;
    this.running.delete(event.jobRunId);
    return run;
  }

  elapsedMs(): number {
    return Date.now() - this.startedMs;
  }

  /** Estimated time left, from the average pace so far; undefined before the first job ends. */
  etaMs(): number | undefined {
    const done = this.succeeded + this.failed;
    if (done === 0 || this.total === 0) return undefined;
    return (this.elapsedMs() / done) * Math.max(0, this.total - done);
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}
