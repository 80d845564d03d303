/**
 * @module FunctionJobRunner: runs an in-process TypeScript exec function through the job.exec diagram.
 */
import { ExitCategory, LogStream, type BuildEvent, type JobRunRequest } from "../gen/databuild_pb.ts";
import type { JobOutcome, JobRunner, RunningJob } from "../core/job-runner.ts";
import type { ExecContext, FunctionExec } from "../core/job.ts";
import { emitLine, MAX_LINE_CHARS } from "./line-splitter.ts";
import { jobName, RunReporter, STDERR_TAIL_LINES } from "./run-reporter.ts";
import { requestProblem } from "./validate-request.ts";

/**
 * Runs `fn.run(task.config, context)` in this process. Events: config
 * validation, taskLaunchSuccess with this process's pid, STDOUT logEntry
 * events holding the lines passed to `context.log`, heartbeats (RSS 0: an in-process job's
 * own memory is not measurable), then taskSuccess + partitionManifest when
 * the function returns or resolves, or taskFailed (EXIT_JOB_FAILURE, the
 * stack as stderr_tail) + jobExecFail when it throws or rejects.
 *
 * On timeout or cancel the context's signal is aborted and the run ends at
 * once (EXIT_TIMEOUT / EXIT_CANCELLED): a function cannot be killed, so one
 * that ignores the signal keeps running, but whatever it logs or returns
 * afterwards is dropped. A synchronous function's run emits every event
 * before `start` returns. `emit` must be synchronous and must not throw.
 * Timers exist only when the request asks for heartbeats or a timeout, and
 * while logged lines wait to be sent as one entry (at most LOG_FLUSH_MS).
 */
export class FunctionJobRunner implements JobRunner {
  start(request: JobRunRequest, emit: (event: BuildEvent) => void, fn?: FunctionExec): RunningJob {
    return new FunctionRun(request, emit, fn);
  }
}

/** One run; it is also the run's ExecContext, to keep a run to few allocations. */
class FunctionRun implements RunningJob, ExecContext {
  readonly done: Promise<JobOutcome>;
  readonly jobLabel: string;
  readonly buildId: string;
  readonly jobRunId: string;
  private readonly reporter: RunReporter;
  private resolve: ((outcome: JobOutcome) => void) | undefined;
  private settled = false;
  private startMs = 0;
  private controller: AbortController | undefined;
  private abortReason: Error | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private timeoutTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly request: JobRunRequest,
    emit: (event: BuildEvent) => void,
    fn: FunctionExec | undefined,
  ) {
    this.jobLabel = request.task?.job?.label ?? "";
    this.buildId = request.buildRequestId;
    this.jobRunId = request.jobRunId;
    const reporter = (this.reporter = new RunReporter(request, emit));
    const problem = fn ? requestProblem(request, false) : "the job has no exec function to run in process";
    if (problem) {
      this.settled = true;
      this.done = Promise.resolve(reporter.configInvalid(problem));
      return;
    }
    reporter.configValid();
    reporter.launched(process.pid);
    this.startMs = Date.now();
    let result: Promise<void> | void;
    try {
      result = fn!.run(request.task!.config!, this);
    } catch (error) {
      this.settle();
      this.done = Promise.resolve(this.thrown(error));
      return;
    }
    if (!isThenable(result)) {
      this.settle();
      this.done = Promise.resolve(reporter.succeeded(this.startMs, Date.now()));
      return;
    }
    this.done = new Promise((resolve) => (this.resolve = resolve));
    result.then(
      () => this.finish(() => reporter.succeeded(this.startMs, Date.now())),
      (error: unknown) => this.finish(() => this.thrown(error)),
    );
    if (request.heartbeatIntervalMs > 0) {
      this.heartbeatTimer = setInterval(() => reporter.heartbeat(0), request.heartbeatIntervalMs);
    }
    if (request.timeoutMs > 0) {
      const ms = request.timeoutMs;
      this.timeoutTimer = setTimeout(
        () => this.stop(ExitCategory.EXIT_TIMEOUT, `job ${jobName(request)} timed out after ${ms} ms`),
        ms,
      );
    }
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      // Created on first use: most functions never look at it.
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  readonly log = (line: string): void => {
    if (this.settled) return;
    const reporter = this.reporter;
    const text = String(line);
    if (text.length <= MAX_LINE_CHARS && !text.includes("\n")) {
      reporter.log(LogStream.STDOUT, text, false);
      return;
    }
    for (const part of text.split("\n")) {
      emitLine(part, MAX_LINE_CHARS, (piece, continued) => reporter.log(LogStream.STDOUT, piece, continued));
    }
  };

  readonly cancel = (reason: string): void => {
    this.stop(ExitCategory.EXIT_CANCELLED, `job ${jobName(this.request)} was cancelled: ${reason}`);
  };

  private stop(category: ExitCategory.EXIT_TIMEOUT | ExitCategory.EXIT_CANCELLED, message: string): void {
    if (this.settled) return;
    this.abortReason = new Error(message);
    this.controller?.abort(this.abortReason);
    this.finish(() => this.reporter.failed(category, message, {}));
  }

  private thrown(error: unknown): JobOutcome {
    const message = error instanceof Error ? error.message : String(error);
    const stack = error instanceof Error && error.stack ? error.stack : message;
    return this.reporter.failed(ExitCategory.EXIT_JOB_FAILURE, `job ${jobName(this.request)} failed: ${message}`, {
      stderrTail: stack.split("\n").slice(0, STDERR_TAIL_LINES),
    });
  }

  /** Ends the run once: emits the last events through `report` and settles `done`. */
  private finish(report: () => JobOutcome): void {
    if (this.settled) return;
    this.settle();
    this.resolve!(report());
  }

  // Marked before the last events go out, so that an `emit` that cancels
  // this run, or a late log line, cannot add events after them.
  private settle(): void {
    this.settled = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.timeoutTimer);
  }
}

function isThenable(value: unknown): value is Promise<void> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === "function";
}
