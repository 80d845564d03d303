/**
 * @module IsolatedFunctionRunner: runs in-process TypeScript exec functions
 * on worker threads (SPEC 3.2), so a job that blocks, spins, throws or calls
 * process.exit fails itself and never stops databuild's own event loop from
 * heartbeating, enforcing timeouts, cancelling and recording events.
 *
 * The job.exec events are emitted here, on databuild's thread, exactly as
 * FunctionJobRunner emits them; the worker only runs the function and sends
 * back its log lines and how it ended. A timeout terminates the worker at
 * once (a thread can be stopped even in an endless loop); a cancel aborts
 * the job's signal and terminates the worker after the kill grace if the
 * function has not ended by then. A run's failure is reported only after its
 * worker has stopped, so a retry never overlaps the run it replaces.
 */
import { ExitCategory, LogStream, type BuildEvent, type JobRunRequest } from "../../gen/databuild_pb.ts";
import type { JobOutcome, JobRunner, RunningJob } from "../../core/job-runner.ts";
import type { FunctionExec } from "../../core/job.ts";
import { emitLine, LineSplitter, MAX_LINE_CHARS } from "../line-splitter.ts";
import { DEFAULT_KILL_GRACE_MS } from "../process-runner.ts";
import { jobName, RunReporter, STDERR_TAIL_LINES } from "../run-reporter.ts";
import { requestProblem } from "../validate-request.ts";
import { FunctionWorkerPool, type PooledWorker, type WorkerDeath, type WorkerListener } from "./worker-pool.ts";
import type { FromWorker, ThrownError } from "./worker-protocol.ts";

export class IsolatedFunctionRunner implements JobRunner {
  private readonly pool: FunctionWorkerPool;
  private runs = 0;

  /**
   * `graphFile`: the graph file the job functions are defined in; each
   * worker loads it once, when first needed or warmed.
   */
  constructor(graphFile: string, warm = 0) {
    this.pool = new FunctionWorkerPool(graphFile);
    this.pool.warm(warm);
  }

  /** Starts workers for `functionRuns` runs (beyond those already started), so they load the graph now. */
  warm(functionRuns: number): void {
    this.pool.warm(functionRuns - this.pool.size);
  }

  start(request: JobRunRequest, emit: (event: BuildEvent) => void, fn?: FunctionExec): RunningJob {
    return new IsolatedRun(request, emit, fn !== undefined, this.pool, ++this.runs);
  }

  /** Ends every worker thread. */
  close(): Promise<void> {
    return this.pool.close();
  }
}

class IsolatedRun implements RunningJob, WorkerListener {
  readonly done: Promise<JobOutcome>;
  private resolve!: (outcome: JobOutcome) => void;
  private readonly reporter: RunReporter;
  private worker: PooledWorker | undefined;
  private settled = false;
  private cancelling = false;
  private startMs = 0;
  private readonly stderrTail: string[] = [];
  private splitters: [LineSplitter, LineSplitter] | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private stopTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly request: JobRunRequest,
    emit: (event: BuildEvent) => void,
    hasFunction: boolean,
    private readonly pool: FunctionWorkerPool,
    private readonly run: number,
  ) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
    const reporter = (this.reporter = new RunReporter(request, emit));
    const problem = hasFunction ? requestProblem(request, false) : "the job has no exec function to run in process";
    if (problem) {
      this.settled = true;
      this.resolve(reporter.configInvalid(problem));
      return;
    }
    reporter.configValid();
    reporter.launched(process.pid);
    this.startMs = Date.now();
    const worker = (this.worker = pool.acquire());
    worker.attach(this);
    const task = request.task!;
    worker.send({
      type: "run",
      run,
      jobLabel: task.job!.label,
      buildId: request.buildRequestId,
      jobRunId: request.jobRunId,
      config: JSON.stringify(task.config!),
    });
    if (request.heartbeatIntervalMs > 0) {
      this.heartbeatTimer = setInterval(() => reporter.heartbeat(0), request.heartbeatIntervalMs);
    }
    if (request.timeoutMs > 0) {
      const ms = request.timeoutMs;
      this.stopTimer = setTimeout(
        () =>
          this.terminateThenFail(ExitCategory.EXIT_TIMEOUT, `job ${jobName(request)} timed out after ${ms / 1000} s`),
        ms,
      );
    }
  }

  // A property, so that a detached `run.cancel` still works.
  readonly cancel = (reason: string): void => {
    if (this.settled || this.cancelling) return;
    this.cancelling = true;
    const message = `job ${jobName(this.request)} was cancelled: ${reason}`;
    this.worker?.send({ type: "abort", run: this.run, reason: message });
    clearTimeout(this.stopTimer);
    const grace = this.request.killGraceMs || DEFAULT_KILL_GRACE_MS;
    this.stopTimer = setTimeout(() => this.terminateThenFail(ExitCategory.EXIT_CANCELLED, message), grace);
  };

  message(message: FromWorker): void {
    if (this.settled || message.run !== this.run) return;
    switch (message.type) {
      case "log":
        this.logLine(message.line);
        return;
      case "output":
        this.output(message.stream === 1 ? 0 : 1).push(Buffer.from(message.text, "utf8"));
        return;
      case "unusable":
        this.end(() => this.reporter.failed(ExitCategory.EXIT_LAUNCH_FAILURE, message.message, {}), true);
        return;
      case "done":
        this.flushOutput();
        if (this.cancelling) this.end(() => this.cancelled(), true);
        else if (message.error) this.end(() => this.thrown(message.error!), true);
        else this.end(() => this.reporter.succeeded(this.startMs, Date.now()), true);
        return;
    }
  }

  died(death: WorkerDeath): void {
    if (this.settled) return;
    this.worker = undefined;
    this.flushOutput();
    const name = jobName(this.request);
    const error = death.error;
    let message: string;
    if (error && (error as NodeJS.ErrnoException).code === "ERR_WORKER_OUT_OF_MEMORY")
      message = `job ${name} ran out of memory (its JavaScript heap limit) and was stopped`;
    else if (error) message = `job ${name} crashed: ${error.message}`;
    else message = `job ${name} called process.exit(${death.exitCode}) before its exec function ended`;
    const stack = error?.stack ? error.stack.split("\n").slice(0, STDERR_TAIL_LINES) : [];
    this.end(
      () =>
        this.reporter.failed(ExitCategory.EXIT_JOB_FAILURE, message, {
          exitCode: error ? undefined : death.exitCode,
          stderrTail: [...this.stderrTail, ...stack].slice(-STDERR_TAIL_LINES),
        }),
      false,
    );
  }

  private logLine(line: string): void {
    const reporter = this.reporter;
    if (line.length <= MAX_LINE_CHARS && !line.includes("\n")) {
      reporter.log(LogStream.STDOUT, line, false);
      return;
    }
    for (const part of line.split("\n")) {
      emitLine(part, MAX_LINE_CHARS, (piece, continued) => reporter.log(LogStream.STDOUT, piece, continued));
    }
  }

  /** The line splitter of stdout (0) or stderr (1), made on first output. */
  private output(index: 0 | 1): LineSplitter {
    if (!this.splitters) {
      const sink = (stream: LogStream, tail: boolean) => (line: string, continued: boolean) => {
        if (tail && !continued) {
          this.stderrTail.push(line);
          if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
        }
        this.reporter.log(stream, line, continued);
      };
      this.splitters = [
        new LineSplitter(sink(LogStream.STDOUT, false)),
        new LineSplitter(sink(LogStream.STDERR, true)),
      ];
    }
    return this.splitters[index];
  }

  private flushOutput(): void {
    this.splitters?.[0].end();
    this.splitters?.[1].end();
  }

  private thrown(error: ThrownError): JobOutcome {
    return this.reporter.failed(
      ExitCategory.EXIT_JOB_FAILURE,
      `job ${jobName(this.request)} threw: ${error.message || "(an error with no message)"}`,
      { stderrTail: [...this.stderrTail, ...error.stack.split("\n")].slice(-STDERR_TAIL_LINES) },
    );
  }

  private cancelled(): JobOutcome {
    return this.reporter.failed(ExitCategory.EXIT_CANCELLED, `job ${jobName(this.request)} was cancelled`, {
      stderrTail: this.stderrTail,
    });
  }

  /** Stops the worker first, then reports: nothing of this run can still be running afterwards. */
  private terminateThenFail(category: ExitCategory, message: string): void {
    if (this.settled) return;
    this.settled = true;
    this.clearTimers();
    const worker = this.worker;
    this.worker = undefined;
    const report = () => this.resolve(this.reporter.failed(category, message, { stderrTail: this.stderrTail }));
    if (!worker) return report();
    worker.terminate().then(report, report);
  }

  /** Ends the run once; `reusable` returns the worker to the pool. */
  private end(report: () => JobOutcome, reusable: boolean): void {
    if (this.settled) return;
    // Marked before the last events go out, so that an `emit` that cancels
    // this run cannot add events after them.
    this.settled = true;
    this.clearTimers();
    const worker = this.worker;
    this.worker = undefined;
    if (worker && reusable) this.pool.release(worker);
    this.resolve(report());
  }

  private clearTimers(): void {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.stopTimer);
  }
}
