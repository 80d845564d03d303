/**
 * @module `databuild wrapper`: runs one JobRunRequest read from stdin and prints its events as JSON lines.
 */
import type { Readable } from "node:stream";
import { create, fromJson, fromJsonString, toJsonString, type JsonValue } from "@bufbuild/protobuf";
import {
  BuildEventSchema,
  ExitCategory,
  JobRunRequestSchema,
  TaskSchema,
  type BuildEvent,
  type JobRunRequest,
  type Task,
} from "../gen/databuild_pb.ts";
import type { JobRunner } from "../core/job-runner.ts";
import { ProcessJobRunner } from "./process-runner.ts";
import { RunReporter } from "./run-reporter.ts";

/** Exit codes: the job succeeded; it failed; the request was unusable (SPEC 3.4's usage error). */
export const WRAPPER_OK = 0;
export const WRAPPER_JOB_FAILED = 1;
export const WRAPPER_INVALID_REQUEST = 2;

/** Where SIGTERM and SIGINT come from; `process` in the CLI. */
export interface SignalSource {
  on(signal: "SIGTERM" | "SIGINT", listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: "SIGTERM" | "SIGINT", listener: (signal: NodeJS.Signals) => void): unknown;
}

/** A text sink such as process.stdout or the CLI's io.stdout. */
export interface TextSink {
  write(text: string): unknown;
}

export interface WrapperCommandOptions {
  /** SIGTERM/SIGINT from here cancel the job (EXIT_CANCELLED); its final events are still written. */
  readonly signals?: SignalSource;
  /** Human-readable messages; default process.stderr. */
  readonly stderr?: TextSink;
  /** Default: a ProcessJobRunner spawning in process (see DATABUILD_SPAWNER). */
  readonly runner?: JobRunner;
}

/**
 * Reads one JobRunRequest (proto3 JSON) from `stdin`, runs its command
 * through the exec wrapper and writes every BuildEvent of the run to
 * `stdout` as one proto3 JSON object per line, and nothing else, so a caller
 * on another host or outside a container needs only this process's stdout.
 * Resolves with the exit code: 0 the job succeeded, 1 it failed (the events
 * say how), 2 the request was not valid JSON or not a runnable
 * JobRunRequest (configValidateFail + jobExecFail are still written, with
 * whatever ids could be read). Messages for humans go to `stderr`.
 */
export async function runWrapperCommand(
  stdin: string | Readable,
  stdout: TextSink,
  options: WrapperCommandOptions = {},
): Promise<number> {
  const stderr = options.stderr ?? process.stderr;
  const write = (event: BuildEvent) => stdout.write(toJsonString(BuildEventSchema, event) + "\n");
  const text = await readAll(stdin);
  let request: JobRunRequest;
  try {
    if (text.trim() === "") throw new Error("stdin is empty");
    request = fromJsonString(JobRunRequestSchema, text);
  } catch (error) {
    const message = `invalid JobRunRequest on stdin: ${(error as Error).message}`;
    new RunReporter(salvageIds(text), write).configInvalid(message);
    stderr.write(`databuild wrapper: ${message}\n`);
    return WRAPPER_INVALID_REQUEST;
  }

  // One job in a small process: forking it is cheap, so no spawner process unless DATABUILD_SPAWNER asks.
  const spawner = process.env.DATABUILD_SPAWNER || process.env.DATABUILD_LAUNCHER ? undefined : "inprocess";
  const run = (options.runner ?? new ProcessJobRunner({ spawner })).start(request, write);
  const onSignal = (signal: NodeJS.Signals) => run.cancel(`the wrapper received ${signal}`);
  // Whoever read the events is gone (EPIPE): nobody can learn the outcome, so stop the job.
  const onBrokenStdout = () => run.cancel("the wrapper's stdout was closed");
  if (isEmitter(stdout)) stdout.on("error", onBrokenStdout);
  options.signals?.on("SIGTERM", onSignal);
  options.signals?.on("SIGINT", onSignal);
  let outcome;
  try {
    outcome = await run.done;
  } finally {
    options.signals?.off("SIGTERM", onSignal);
    options.signals?.off("SIGINT", onSignal);
  }
  // Left attached: late EPIPEs of the last writes must not crash the process.
  if (outcome.kind === "success") return WRAPPER_OK;
  stderr.write(`databuild wrapper: ${outcome.message}\n`);
  return outcome.category === ExitCategory.EXIT_CONFIG_INVALID ? WRAPPER_INVALID_REQUEST : WRAPPER_JOB_FAILED;
}

function isEmitter(sink: TextSink): sink is TextSink & { on(event: "error", listener: () => void): unknown } {
  return typeof (sink as { on?: unknown }).on === "function";
}

async function readAll(input: string | Readable): Promise<string> {
  if (typeof input === "string") return input;
  const chunks: Buffer[] = [];
  for await (const chunk of input as AsyncIterable<string | Buffer>) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The ids and task of a request that failed to decode, as far as they can be read, for its events. */
function salvageIds(text: string): JobRunRequest {
  let json: Record<string, JsonValue> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) json = parsed as Record<string, JsonValue>;
  } catch {
    // Not JSON at all: the events carry no ids.
  }
  const str = (...keys: string[]) => {
    const value = keys.map((k) => json[k]).find((v) => typeof v === "string");
    return typeof value === "string" ? value : "";
  };
  let task: Task | undefined;
  try {
    if (json.task !== undefined) task = fromJson(TaskSchema, json.task, { ignoreUnknownFields: true });
  } catch {
    // An undecodable task is left out.
  }
  return create(JobRunRequestSchema, {
    buildRequestId: str("buildRequestId", "build_request_id"),
    jobRunId: str("jobRunId", "job_run_id"),
    task,
  });
}
