/**
 * @module ProcessJobRunner: runs a command job as a child process through the job.exec diagram.
 */
/*
 * The monitoring loop. A run is event driven; nothing polls:
 *
 *   validate config -> spawn through the Spawner (no shell, own process group) -> taskLaunchSuccess
 *   stdout/stderr 'data' -> LineSplitter per stream -> LogBatcher -> logEntry batches
 *                           (one sequence across both streams; capped at the log limit)
 *   heartbeat interval   -> jobHeartbeat with the RSS of the job and its descendants
 *   timeout / cancel()   -> SIGTERM to the group, SIGKILL after the grace period
 *   'exit'               -> stop heartbeats and the timeout; start the drain timer
 *   'close'              -> flush the last partial lines, then taskSuccess + partitionManifest,
 *                           or taskFailed + jobExecFail
 *
 * The pipes are read as fast as the job writes (no backpressure on the job
 * beyond the synchronous `emit`), so a job printing megabytes never blocks.
 * The outcome waits for 'close', not 'exit', so no output is lost. A job
 * that exits while a background process it started still holds its stdout or
 * stderr would keep 'close' from coming; after DRAIN_MS the rest of the
 * group is killed and the pipes are closed, so a run always ends.
 *
 * The spawn itself goes through a Spawner (spawner/job-process.ts): by
 * default a persistent spawner process (spawner/spawner-client.ts explains
 * why: forking databuild per job is slow), else node:child_process in
 * process. DATABUILD_SPAWNER=inprocess|node|python|auto chooses. With a
 * spawner process, taskLaunchSuccess comes asynchronously; a cancel or a
 * timeout before it is applied as soon as the pid is known.
 */
import { toJsonString } from "@bufbuild/protobuf";
import { ExitCategory, JobConfigSchema, LogStream, type BuildEvent, type JobRunRequest } from "../gen/databuild_pb.ts";
import type { JobOutcome, JobRunner, RunningJob } from "../core/job-runner.ts";
import type { JobProcess, Spawner } from "./spawner/job-process.ts";
import { createSpawner, spawnerModeFromEnv, type SpawnerMode } from "./spawner/spawner-client.ts";
import { launchProblem } from "./launch-problem.ts";
import { LineSplitter, MAX_LINE_CHARS } from "./line-splitter.ts";
import { treeRssBytes } from "./process-memory.ts";
import { jobName, RunReporter, STDERR_TAIL_LINES } from "./run-reporter.ts";
import { StderrTail } from "./stderr-tail.ts";
import { requestProblem } from "./validate-request.ts";

/** Grace between SIGTERM and SIGKILL when the request's kill_grace_ms is 0. */
export const DEFAULT_KILL_GRACE_MS = 5000;
/** How long after the job exits its pipes may stay open before the rest of its group is killed. */
export const DRAIN_MS = 1000;

export interface ProcessRunnerOptions {
  /** The environment jobs inherit, read when the runner is created; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Longest log line in UTF-16 code units; default MAX_LINE_CHARS. */
  readonly maxLineChars?: number;
  /** Default DRAIN_MS. */
  readonly drainMs?: number;
  /** How jobs are spawned: a Spawner, or a mode; default the mode in DATABUILD_SPAWNER, else "auto". */
  readonly spawner?: Spawner | SpawnerMode;
}

/**
 * Runs `request.command` with `task.config.args` appended (docs/job-protocol.md):
 * no shell, cwd `request.cwd` (the current directory when empty), the
 * environment plus `config.env` plus DATABUILD_JOB_LABEL, DATABUILD_BUILD_ID
 * and DATABUILD_JOB_RUN_ID, and the JobConfig as proto3 JSON on stdin. The
 * job gets its own process group, so a terminal's Ctrl-C reaches databuild
 * only, and timeout and cancel stop everything the job started. `fn` is
 * ignored (see JobRunners). `emit` must be synchronous and must not throw;
 * the first events are emitted before `start` returns.
 */
export class ProcessJobRunner implements JobRunner {
  /** A plain copy: reading process.env (an exotic object) per job costs more than the copy. */
  private readonly baseEnv: Readonly<Record<string, string | undefined>>;
  readonly spawner: Spawner;

  constructor(private readonly options: ProcessRunnerOptions = {}) {
    this.baseEnv = { ...(options.env ?? process.env) };
    const spawner = options.spawner ?? spawnerModeFromEnv();
    this.spawner = typeof spawner === "string" ? createSpawner(spawner) : spawner;
  }

  start(request: JobRunRequest, emit: (event: BuildEvent) => void): RunningJob {
    return new ProcessRun(request, emit, this.options, this.baseEnv, this.spawner);
  }

  /** Stops the spawner process, if any (it also stops by itself when databuild exits). Call with no job running. */
  close(): void {
    this.spawner.close();
  }
}

const noop = (): void => {};

type Timer = ReturnType<typeof setTimeout>;

/** Why databuild stopped a job: a timeout or cancel(). */
interface Stop {
  readonly category: ExitCategory.EXIT_TIMEOUT | ExitCategory.EXIT_CANCELLED;
  readonly message: string;
  killed: boolean;
}

class ProcessRun implements RunningJob {
  readonly done: Promise<JobOutcome>;
  private resolve: (outcome: JobOutcome) => void = noop;
  private readonly reporter: RunReporter;
  private process: JobProcess | undefined;
  private pid = 0;
  /** A stop requested before the spawner reported the pid. */
  private pendingStop: { category: Stop["category"]; message: string } | undefined;
  private startMs = 0;
  private exitMs = 0;
  private exited = false;
  private closed = false;
  private stop: Stop | undefined;
  private readonly stderrTail = new StderrTail(STDERR_TAIL_LINES);
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private timeoutTimer: Timer | undefined;
  private killTimer: Timer | undefined;
  private drainTimer: Timer | undefined;

  constructor(
    private readonly request: JobRunRequest,
    emit: (event: BuildEvent) => void,
    private readonly options: ProcessRunnerOptions,
    private readonly baseEnv: Readonly<Record<string, string | undefined>>,
    private readonly spawner: Spawner,
  ) {
    this.reporter = new RunReporter(request, emit);
    this.done = new Promise((resolve) => (this.resolve = resolve));
    const problem = requestProblem(request, true);
    if (problem) {
      this.resolve(this.reporter.configInvalid(problem));
      return;
    }
    this.reporter.configValid();
    this.launch();
  }

  // A property, so that a detached `run.cancel` still works.
  readonly cancel = (reason: string): void => {
    this.requestStop(ExitCategory.EXIT_CANCELLED, `job ${jobName(this.request)} was cancelled: ${reason}`);
  };

  private launch(): void {
    const request = this.request;
    const config = request.task!.config!;
    const command = request.command;
    const cwd = request.cwd || process.cwd();
    const env = {
      ...this.baseEnv,
      ...config.env,
      DATABUILD_JOB_LABEL: request.task!.job!.label,
      DATABUILD_BUILD_ID: request.buildRequestId,
      DATABUILD_JOB_RUN_ID: request.jobRunId,
    };
    const maxLineChars = this.options.maxLineChars ?? MAX_LINE_CHARS;
    const reporter = this.reporter;
    const stdout = new LineSplitter((line, continued) => reporter.log(LogStream.STDOUT, line, continued), maxLineChars);
    const stderr = new LineSplitter((line, continued) => {
      this.stderrTail.add(line, continued);
      reporter.log(LogStream.STDERR, line, continued);
    }, maxLineChars);
    const spec = {
      argv: [...command, ...config.args],
      cwd,
      env,
      stdin: toJsonString(JobConfigSchema, config),
    };
    this.process = this.spawner.launch(spec, {
      spawned: (pid) => this.onSpawned(pid),
      spawnFailed: (error) => {
        this.closed = true;
        this.resolve(reporter.launchFailed(launchProblem(command, cwd, error)));
      },
      stdout: (chunk) => stdout.push(chunk),
      stderr: (chunk) => stderr.push(chunk),
      exit: () => this.onExit(),
      close: (code, signal) => {
        stdout.end();
        stderr.end();
        this.onClose(code, signal);
      },
      lost: (reason) => {
        stdout.end();
        stderr.end();
        this.onLost(reason);
      },
    });
  }

  private onSpawned(pid: number): void {
    const request = this.request;
    const reporter = this.reporter;
    this.pid = pid;
    this.startMs = Date.now();
    reporter.launched(pid);
    if (request.heartbeatIntervalMs > 0) {
      this.heartbeatTimer = setInterval(() => reporter.heartbeat(treeRssBytes(this.pid)), request.heartbeatIntervalMs);
    }
    if (request.timeoutMs > 0) {
      const ms = request.timeoutMs;
      this.timeoutTimer = setTimeout(
        () => this.requestStop(ExitCategory.EXIT_TIMEOUT, `job ${jobName(request)} timed out after ${ms} ms`),
        ms,
      );
    }
    const pending = this.pendingStop;
    if (pending) this.requestStop(pending.category, pending.message);
  }

  /** SIGTERM to the job's group now, SIGKILL after the grace period; a no-op once the job has exited. */
  private requestStop(category: Stop["category"], message: string): void {
    if (this.stop || this.exited || this.closed) return;
    // pid 0 (not launched yet) must never reach kill(-pid): -0 is databuild's own process group.
    if (this.pid === 0) {
      this.pendingStop ??= { category, message };
      return;
    }
    this.stop = { category, message, killed: false };
    clearTimeout(this.timeoutTimer);
    this.killGroup("SIGTERM");
    const grace = this.request.killGraceMs || DEFAULT_KILL_GRACE_MS;
    this.killTimer = setTimeout(() => {
      this.stop!.killed = true;
      this.killGroup("SIGKILL");
    }, grace);
  }

  private killGroup(signal: NodeJS.Signals): void {
    if (this.pid !== 0) this.process!.killGroup(signal);
  }

  private onExit(): void {
    this.exited = true;
    this.exitMs = Date.now();
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.timeoutTimer);
    if (this.closed) return;
    this.drainTimer = setTimeout(() => {
      // What still holds the pipes is a background process the job left behind.
      this.killGroup("SIGKILL");
      this.process!.closePipes();
    }, this.options.drainMs ?? DRAIN_MS);
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.killTimer);
    clearTimeout(this.drainTimer);
    if (!this.exited) this.exitMs = Date.now();
    this.resolve(this.outcome(code, signal));
  }

  private onLost(reason: string): void {
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.killTimer);
    clearTimeout(this.drainTimer);
    const message = `job ${jobName(this.request)} was lost: ${reason}`;
    this.resolve(this.reporter.failed(ExitCategory.EXIT_LOST, message, { stderrTail: this.stderrTail.toArray() }));
  }

  private outcome(code: number | null, signal: NodeJS.Signals | null): JobOutcome {
    const reporter = this.reporter;
    const stderrTail = this.stderrTail.toArray();
    const details = { exitCode: code ?? undefined, signal: signal ?? undefined, stderrTail };
    const stop = this.stop;
    if (stop) {
      const grace = this.request.killGraceMs || DEFAULT_KILL_GRACE_MS;
      const how = stop.killed
        ? `; it did not stop within ${grace} ms of SIGTERM and was killed with SIGKILL`
        : signal
          ? `; it was stopped with SIGTERM and ended by ${signal}`
          : `; it was sent SIGTERM and exited with code ${code}`;
      return reporter.failed(stop.category, stop.message + how, details);
    }
    if (code === 0) return reporter.succeeded(this.startMs, this.exitMs);
    const shown = `job ${jobName(this.request)} (command ${JSON.stringify(this.request.command.join(" "))})`;
    if (signal) {
      const oom = signal === "SIGKILL" ? " (possibly the kernel's out-of-memory killer)" : "";
      return reporter.failed(
        ExitCategory.EXIT_SIGNAL,
        `${shown} was killed by signal ${signal}${oom}, which databuild did not send`,
        details,
      );
    }
    return reporter.failed(ExitCategory.EXIT_JOB_FAILURE, `${shown} exited with code ${code}`, details);
  }
}
