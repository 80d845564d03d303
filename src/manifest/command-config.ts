/**
 * @module The config step of an executable job (SPEC 3.2): runs the job's
 * config command with the wanted refs as arguments and decodes the
 * JobConfigureResponse it prints on stdout.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fromJson } from "@bufbuild/protobuf";
import { JobConfigureResponseSchema, type JobConfig } from "../gen/databuild_pb.ts";
import { ConfigError } from "../core/errors.ts";
import type { JobDefinition } from "../core/job.ts";

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

/**
 * Returns the configure function of a job whose config step is `command`
 * (argv; no shell), run in `cwd` (the graph file's directory) with stdin
 * closed. The configs of all calls are returned in ref order. Throws
 * ConfigError naming `job`, the call's refs, the problem and the tail of
 * the command's stderr when the command cannot start, exits non-zero, or
 * prints anything but a JobConfigureResponse. Whether every wanted ref is
 * produced is checked by the planner, not here.
 */
export function commandConfigure(job: string, command: readonly string[], cwd: string): JobDefinition["configure"] {
  if (command.length === 0 || command[0] === "") throw new TypeError(`job "${job}": the config command is empty`);
  return async (wanted) => {
    if (wanted.length === 0) return [];
    const batches = splitRefs(
      command,
      wanted.map((w) => w.ref),
    );
    const results = await mapLimited(batches, CONCURRENT_CALLS, (refs, signal) =>
      runConfigCall(job, command, cwd, refs, signal),
    );
    return results.flat();
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

/** Runs `fn` over `items`, at most `limit` at once; the first failure aborts the rest and is thrown. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const controller = new AbortController();
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!, controller.signal);
      } catch (error) {
        if (!failure) {
          failure = { error };
          controller.abort();
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/** One invocation of the config command for `refs`. */
function runConfigCall(
  job: string,
  command: readonly string[],
  cwd: string,
  refs: string[],
  signal: AbortSignal,
): Promise<JobConfig[]> {
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr = new TailBuffer(STDERR_TAIL_BYTES);
    let settled = false;
    const fail = (problem: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      reject(
        new ConfigError(
          job,
          refs,
          problem,
          stderr.text(STDERR_TAIL_LINES),
          cause === undefined ? undefined : { cause },
        ),
      );
    };
    const program = command[0]!;
    const child = spawn(program, [...command.slice(1), ...refs], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      signal,
      windowsHide: true,
    });
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (error: NodeJS.ErrnoException) => {
      // Without a pid the process never started and no "close" may follow.
      if (child.pid === undefined) fail(startProblem(command, cwd, error), error);
    });
    child.on("close", (code, killedBy) => {
      if (settled) return;
      if (signal.aborted) return fail("cancelled because another config call of this job failed");
      if (code !== 0) {
        const shown = JSON.stringify(command.join(" "));
        return fail(
          killedBy
            ? `config command ${shown} was killed by signal ${killedBy}`
            : `config command ${shown} exited with code ${code}`,
        );
      }
      try {
        const configs = decodeResponse(Buffer.concat(stdout).toString("utf8"));
        settled = true;
        resolve(configs);
      } catch (error) {
        fail((error as Error).message, error);
      }
    });
  });
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
function decodeResponse(text: string): JobConfig[] {
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
    return fromJson(JobConfigureResponseSchema, json as never, { ignoreUnknownFields: false }).configs;
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
