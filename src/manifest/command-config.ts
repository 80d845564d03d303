/**
 * @module The config step of an executable job (SPEC 3.2): runs the job's
 * config command with the wanted refs as arguments and decodes the
 * JobConfigureResponse it prints on stdout, within the call's limits (time,
 * output), stopping the command's whole process group when it ends.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { collectConfigs } from "../core/config-sink.ts";
import { ConfigError } from "../core/errors.ts";
import { configureOptions, type ConfigureOptions, type JobDefinition } from "../core/job.ts";
import { decodeConfigureResponse, feedConfigureResponse, type ConfigureResponse } from "./configure-response.ts";
import { ProcessGroup } from "./process-group.ts";

/**
 * Bytes of argv per config call, counting each string, its NUL terminator
 * and its argv pointer as execve(2) does. Linux allows argv + environment a
 * quarter of the stack limit (2 MiB with the usual 8 MiB stack) and never
 * less than 128 KiB; macOS allows 1 MiB. 128 KiB stays under every one of
 * those with room left for a large environment, and still passes thousands
 * of refs per call. Windows caps a whole command line at 32,767 characters.
 */
export const ARGV_BYTE_BUDGET = process.platform === "win32" ? 30_000 : 128 * 1024;

const POINTER_BYTES = 8;
/** Config calls of one job running at once when its refs need several calls. */
const CONCURRENT_CALLS = Math.max(1, Math.min(4, availableParallelism()));
const STDERR_TAIL_BYTES = 4096;
const STDERR_TAIL_LINES = 20;
const STDOUT_QUOTE_CHARS = 200;
/** Time a config's process group gets between SIGTERM and SIGKILL: a config has nothing to clean up. */
export const CONFIG_KILL_GRACE_MS = 1000;
/** How long the output of a config whose main process exited is still read while something else holds its pipes. */
const DRAIN_MS = 250;

/**
 * Returns the configure function of a job whose config step is `command`
 * (argv; no shell), run in `cwd` (the graph file's directory) with stdin
 * closed. The configs of all calls are returned in ref order. Throws
 * ConfigError naming `job`, the call's refs, the problem and the tail of
 * the command's stderr when the command cannot start, exits non-zero,
 * prints anything but a JobConfigureResponse, runs past its time limit,
 * prints more than its output cap on stdout, or is cancelled. Whether every
 * wanted ref is produced is checked by the planner, not here.
 *
 * Each call runs in a process group of its own, and the whole group is
 * stopped (SIGTERM, then SIGKILL after CONFIG_KILL_GRACE_MS) on its time
 * limit, its output cap, a cancel or a failure of another call of the job,
 * and once its main process has exited: its output is then read for
 * DRAIN_MS at most, so a background child that keeps stdout open cannot
 * stall planning. A call settles only once its group is gone.
 */
export function commandConfigure(job: string, command: readonly string[], cwd: string): JobDefinition["configure"] {
  const configureInto = commandConfigureInto(job, command, cwd);
  return (wanted, options) => collectConfigs(wanted, (sink) => configureInto(wanted, sink, options));
}

/**
 * The same as `commandConfigure`, feeding a ConfigSink (the planner's way):
 * each call's response is read straight into the sink, calls in ref order
 * (a call that finishes early waits for the ones before it).
 */
export function commandConfigureInto(
  job: string,
  command: readonly string[],
  cwd: string,
): NonNullable<JobDefinition["configureInto"]> {
  if (command.length === 0 || command[0] === "") throw new TypeError(`job "${job}": the config command is empty`);
  return async (wanted, sink, options) => {
    if (wanted.length === 0) return;
    const limits = options ?? configureOptions({});
    const batches = splitRefs(
      command,
      wanted.map((w) => w.ref),
    );
    // Responses are decoded as they arrive, and fed in call order.
    const responses: (ConfigureResponse | undefined)[] = new Array<ConfigureResponse | undefined>(batches.length);
    let fed = 0;
    await mapLimited(batches, CONCURRENT_CALLS, limits.signal, async (refs, signal, index) => {
      responses[index] = await new ConfigCall(job, command, cwd, refs, limits, signal).run();
      for (; fed < batches.length && responses[fed] !== undefined; fed++) {
        feedConfigureResponse(responses[fed]!, sink);
        responses[fed] = undefined;
      }
    });
  };
}

/**
 * Splits `refs` into consecutive batches whose argv (command plus batch)
 * stays within `budget` bytes. A ref too long to share a call gets a call
 * of its own.
 */
export function splitRefs(command: readonly string[], refs: readonly string[], budget = ARGV_BYTE_BUDGET): string[][] {
  const argBytes = (arg: string) => Buffer.byteLength(arg) + 1 + POINTER_BYTES;
  const base = command.reduce((sum, arg) => sum + argBytes(arg), 0);
  const batches: string[][] = [];
  let batch: string[] = [];
  let used = base;
  for (const ref of refs) {
    const bytes = argBytes(ref);
    if (batch.length > 0 && used + bytes > budget) {
      batches.push(batch);
      batch = [];
      used = base;
    }
    batch.push(ref);
    used += bytes;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * Runs `fn` over `items`, at most `limit` at once. The first failure aborts
 * the others (through the signal `fn` gets) and is thrown once every started
 * call has settled; aborting `outer` aborts them all with its reason.
 */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  outer: AbortSignal | undefined,
  fn: (item: T, signal: AbortSignal, index: number) => Promise<R>,
): Promise<R[]> {
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(outer!.reason);
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener("abort", onOuterAbort, { once: true });
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    // A cancelled call still runs fn, which fails at once: every call that is skipped says why.
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!, controller.signal, index);
      } catch (error) {
        if (!failure) {
          failure = { error };
          controller.abort("another config call of this job failed");
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  } finally {
    outer?.removeEventListener("abort", onOuterAbort);
  }
  if (failure) throw failure.error;
  return results;
}

/**
 * One invocation of the config command for `refs`, in a process group of
 * its own (see commandConfigure). `run` settles once the group is gone.
 */
class ConfigCall {
  private readonly stdout: Buffer[] = [];
  private stdoutBytes = 0;
  private readonly stderr = new TailBuffer(STDERR_TAIL_BYTES);
  /** running: the main process runs; draining: it exited and its output is read; ending: the group is stopped. */
  private phase: "running" | "draining" | "ending" = "running";
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private child: ChildProcess | undefined;
  private group: ProcessGroup | undefined;
  private resolve: (response: ConfigureResponse) => void = () => {};
  private reject: (error: ConfigError) => void = () => {};

  constructor(
    private readonly job: string,
    private readonly command: readonly string[],
    private readonly cwd: string,
    private readonly refs: string[],
    private readonly limits: ConfigureOptions,
    private readonly signal: AbortSignal,
  ) {}

  run(): Promise<ConfigureResponse> {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.start();
    });
  }

  private get shown(): string {
    return JSON.stringify(this.command.join(" "));
  }

  private start(): void {
    if (this.signal.aborted) return this.fail(this.cancelProblem());
    const child = spawn(this.command[0]!, [...this.command.slice(1), ...this.refs], {
      cwd: this.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      // A process group (and session) of its own, so that all of it can be stopped.
      detached: process.platform !== "win32",
      windowsHide: true,
    });
    this.child = child;
    child.on("error", (error: NodeJS.ErrnoException) => {
      // Without a pid the process never started and no "close" may follow.
      if (child.pid === undefined) this.fail(startProblem(this.command, this.cwd, error), error);
    });
    if (child.pid === undefined) return;
    this.group = new ProcessGroup(child.pid);
    child.stdout!.on("data", (chunk: Buffer) => this.onStdout(chunk));
    child.stderr!.on("data", (chunk: Buffer) => this.stderr.push(chunk));
    child.on("exit", (code, signal) => this.onMainExit(code, signal));
    child.on("close", () => {
      if (this.phase === "draining") void this.end();
    });
    this.signal.addEventListener("abort", this.onAbort, { once: true });
    this.timers.push(setTimeout(() => void this.stopFor(this.timeProblem()), this.limits.timeoutMs));
  }

  private readonly onAbort = () => void this.stopFor(this.cancelProblem());

  private onStdout(chunk: Buffer): void {
    if (this.phase === "ending") return;
    this.stdoutBytes += chunk.length;
    if (this.stdoutBytes > this.limits.maxOutputBytes) return void this.stopFor(this.outputProblem());
    this.stdout.push(chunk);
  }

  private onMainExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.phase !== "running") return;
    this.exit = { code, signal };
    this.phase = "draining";
    this.timers.push(setTimeout(() => void this.end(), DRAIN_MS));
  }

  /** A limit was passed or the call was cancelled: stop the group, then fail with `problem`. */
  private async stopFor(problem: string): Promise<void> {
    if (this.phase === "ending") return;
    this.phase = "ending";
    await this.stopGroup();
    this.fail(problem);
  }

  /** The main process exited and its output was read: stop what is left of its group, then decode. */
  private async end(): Promise<void> {
    if (this.phase === "ending") return;
    this.phase = "ending";
    await this.stopGroup();
    const { code, signal } = this.exit!;
    if (code !== 0) {
      return this.fail(
        signal
          ? `config command ${this.shown} was killed by signal ${signal}`
          : `config command ${this.shown} exited with code ${code}`,
      );
    }
    let response: ConfigureResponse;
    try {
      response = decodeResponse(Buffer.concat(this.stdout).toString("utf8"));
    } catch (error) {
      return this.fail((error as Error).message, error);
    }
    this.resolve(response);
  }

  private async stopGroup(): Promise<void> {
    this.disarm();
    await this.group?.stop(CONFIG_KILL_GRACE_MS);
    // A process that left the group (a session of its own) may still hold the pipes.
    this.child?.stdout?.destroy();
    this.child?.stderr?.destroy();
  }

  private disarm(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.signal.removeEventListener("abort", this.onAbort);
  }

  private fail(problem: string, cause?: unknown): void {
    this.disarm();
    this.reject(
      new ConfigError(
        this.job,
        this.refs,
        problem,
        this.stderr.text(STDERR_TAIL_LINES),
        cause === undefined ? undefined : { cause },
      ),
    );
  }

  private timeProblem(): string {
    const origin = {
      job: "the job's config_timeout_seconds",
      option: "set by --config-timeout",
      default: "the default; raise it with the job's config_timeout_seconds or --config-timeout",
    }[this.limits.timeoutOrigin];
    return (
      `config command ${this.shown} did not finish within its time limit of ${formatSeconds(this.limits.timeoutMs)} ` +
      `(${origin}); its processes were stopped`
    );
  }

  private outputProblem(): string {
    const origin = {
      job: "the job's config_max_output_bytes",
      option: "set by --config-max-output",
      default: "the default; raise it with the job's config_max_output_bytes or --config-max-output",
    }[this.limits.maxOutputOrigin];
    return (
      `config command ${this.shown} printed more than its output cap of ${formatBytes(this.limits.maxOutputBytes)} ` +
      `on stdout (${origin}); its processes were stopped`
    );
  }

  private cancelProblem(): string {
    const reason: unknown = this.signal.reason;
    const why = typeof reason === "string" ? reason : reason instanceof Error ? reason.message : "cancelled";
    return `config command ${this.shown} was stopped: ${why}`;
  }
}

/** A duration for messages: "2 s", "0.25 s", "300 s". */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toPrecision(6))} s`;
}

/** A size for messages: "64 MiB", "512 KiB", "1000 bytes". */
export function formatBytes(bytes: number): string {
  const units = [
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const;
  for (const [unit, size] of units) if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  return `${bytes} byte${bytes === 1 ? "" : "s"}`;
}

/** Why a command could not start, naming the program and the directory it ran in. */
function startProblem(command: readonly string[], cwd: string, error: NodeJS.ErrnoException): string {
  const program = JSON.stringify(command[0]);
  // spawn reports a missing working directory as ENOENT too.
  if (!existsSync(cwd)) return `cannot start config command ${program}: working directory ${cwd} does not exist`;
  switch (error.code) {
    case "ENOENT":
      return (
        `cannot start config command ${program} (in ${cwd}): no such program (ENOENT). ` +
        `Use a program on PATH or a path relative to the graph file's directory.`
      );
    case "EACCES":
      return (
        `cannot start config command ${program} (in ${cwd}): permission denied (EACCES). ` +
        `Make it executable (chmod +x) or run it through its interpreter, e.g. ["python3", "job.py", "config"].`
      );
    default:
      return `cannot start config command ${program} (in ${cwd}): ${error.message}`;
  }
}

/** Decodes stdout as a JobConfigureResponse; throws an Error saying what is wrong with it. */
function decodeResponse(text: string): ConfigureResponse {
  if (text.trim() === "") {
    throw new Error(
      'config command printed nothing on stdout; it must print a JobConfigureResponse as JSON, e.g. {"configs": [...]}',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const quoted = JSON.stringify(text.slice(0, STDOUT_QUOTE_CHARS)) + (text.length > STDOUT_QUOTE_CHARS ? "..." : "");
    // V8 quotes the input in its message; the quote below is longer and escaped.
    const reason = (error as Error).message.replace(/, ".*"(\.\.\.)? is not valid JSON$/s, "");
    throw new Error(
      `config command printed invalid JSON on stdout (${reason}); ` +
        `stdout must hold only a JobConfigureResponse (write logs to stderr). Stdout began: ${quoted}`,
    );
  }
  try {
    return decodeConfigureResponse(json);
  } catch (error) {
    throw new Error(`config command printed JSON that is not a JobConfigureResponse: ${(error as Error).message}`);
  }
}

/** Keeps the last `limit` bytes of a stream, so a chatty command cannot exhaust memory. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
      this.dropped = true;
    }
  }

  /** The last `maxLines` lines within the byte limit, marked when earlier output was cut. */
  text(maxLines: number): string {
    const all = Buffer.concat(this.chunks);
    const cut = all.length > this.limit || this.dropped;
    let lines = all
      .subarray(Math.max(0, all.length - this.limit))
      .toString("utf8")
      .split("\n");
    if (lines.at(-1) === "") lines.pop();
    // The first line of a cut buffer is a fragment.
    if (cut && lines.length > 1) lines.shift();
    const omitted = cut || lines.length > maxLines;
    lines = lines.slice(-maxLines);
    return (omitted ? "[... earlier stderr omitted]\n" : "") + lines.join("\n");
  }
}
