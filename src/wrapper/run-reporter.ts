/**
 * @module The job.exec diagram's emit_* steps for one job run, shared by the process and function runners.
 */
import { hostname } from "node:os";
import { ExitCategory, type LogStream, type BuildEvent, type JobRunRequest, type Task } from "../gen/databuild_pb.ts";
import { eventPayload, type EventPayload } from "../core/build-event.ts";
import {
  configValidateSuccess,
  manifestFor,
  partitionManifest,
  taskLaunchSuccess,
  taskSuccess,
} from "../core/hot-payloads.ts";
import type { JobOutcome } from "../core/job-runner.ts";
import { newEvent, type EventScope } from "../core/new-event.ts";
import { LogBatcher } from "./log-batcher.ts";
import { timestampAtMs } from "../core/timestamp.ts";

/** Stderr lines kept for TaskFailed.stderr_tail. */
export const STDERR_TAIL_LINES = 20;

const HOSTNAME = hostname();

/** Why a run failed after it was launched. */
export interface FailureDetails {
  readonly exitCode?: number;
  readonly signal?: string;
  readonly stderrTail?: readonly string[];
}

/**
 * Emits the events of one job run in diagram order. The methods that end a
 * run return its outcome and must be called once; after them log lines and
 * heartbeats are dropped, so late output or a late timer of a finished run
 * cannot break the diagram path.
 *
 * The run's task is recorded once, in its first event (configValidateSuccess
 * or configValidateFail), so the wrapper's events alone name it; the
 * manifest keeps only its job. A build that recorded the task in
 * jobScheduleSuccess drops that copy too (EventRecorder). Log lines are
 * batched into few entries and capped at the request's log limit
 * (LogBatcher); the ending event (taskSuccess, taskFailed) counts what the
 * limit dropped.
 */
export class RunReporter {
  private readonly scope: EventScope;
  private readonly logs: LogBatcher;
  private ended = false;

  constructor(
    private readonly request: JobRunRequest,
    private readonly emit: (event: BuildEvent) => void,
  ) {
    this.scope = { buildRequestId: request.buildRequestId, jobRunId: request.jobRunId };
    this.logs = new LogBatcher((payload) => this.send(payload), { limitBytes: Number(request.logLimitBytes) });
  }

  private get task(): Task | undefined {
    return this.request.task;
  }

  private send(payload: EventPayload): void {
    this.emit(newEvent(this.scope, payload));
  }

  configValid(): void {
    this.send(configValidateSuccess(this.task));
  }

  configInvalid(message: string): JobOutcome {
    this.send(eventPayload("configValidateFail", { task: this.task, message }));
    return this.execFail(ExitCategory.EXIT_CONFIG_INVALID, message, {});
  }

  launchFailed(message: string): JobOutcome {
    this.send(eventPayload("taskLaunchFail", { message }));
    return this.execFail(ExitCategory.EXIT_LAUNCH_FAILURE, message, {});
  }

  launched(pid: number): void {
    this.send(taskLaunchSuccess(undefined, pid, HOSTNAME));
  }

  /** One line (or a `continued` piece of one) the job printed. */
  log(stream: LogStream, line: string, continued: boolean): void {
    if (this.ended) return;
    this.logs.add(stream, line, continued);
  }

  heartbeat(rssBytes: number): void {
    if (this.ended) return;
    this.send(eventPayload("jobHeartbeat", { rssBytes: BigInt(rssBytes) }));
  }

  /** emit_task_success, then emit_partition_manifest. */
  succeeded(startMs: number, endMs: number): JobOutcome {
    this.ended = true;
    const request = this.request;
    const startTime = timestampAtMs(startMs);
    const endTime = timestampAtMs(endMs);
    this.send(taskSuccess(startTime, endTime, this.logs.end()));
    const manifest = manifestFor(request, startTime, endTime);
    this.send(partitionManifest(manifest));
    return { kind: "success", manifest };
  }

  /** emit_task_failed, then emit_job_exec_fail. */
  failed(category: ExitCategory, message: string, details: FailureDetails): JobOutcome {
    this.ended = true;
    const logTruncation = this.logs.end();
    this.send(
      eventPayload("taskFailed", {
        category,
        exitCode: details.exitCode ?? 0,
        signal: details.signal ?? "",
        message,
        stderrTail: details.stderrTail ? [...details.stderrTail] : [],
        logTruncation,
      }),
    );
    return this.execFail(category, message, details);
  }

  private execFail(category: ExitCategory, message: string, details: FailureDetails): JobOutcome {
    this.ended = true;
    this.logs.end();
    this.send(eventPayload("jobExecFail", { category, message }));
    return {
      kind: "failure",
      category,
      message,
      exitCode: details.exitCode,
      signal: details.signal,
      stderrTail: details.stderrTail ?? [],
    };
  }
}

/** The job's label for messages. */
export function jobName(request: JobRunRequest): string {
  return JSON.stringify(request.task?.job?.label ?? "");
}
