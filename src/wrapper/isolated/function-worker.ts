/**
 * @module The entry of a function worker thread: loads the graph file once,
 * then runs the exec functions of in-process jobs one at a time, as
 * databuild asks (worker-protocol.ts). What a job writes to process.stdout
 * and process.stderr (console.log included) goes to its log, not to
 * databuild's terminal. A job that spins, exits or crashes takes only this
 * thread with it; databuild notices and fails that job run.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { JobConfig } from "../../gen/databuild_pb.ts";
import type { ExecContext, FunctionExec } from "../../core/job.ts";
import type { Graph } from "../../core/graph.ts";
import { loadGraph } from "../../loader/load-graph.ts";
import type { FromWorker, FunctionWorkerData, OutputStream, ThrownError, ToWorker } from "./worker-protocol.ts";

const port = parentPort!;
const { graphFile } = workerData as FunctionWorkerData;
const post = (message: FromWorker): void => port.postMessage(message);

/** The run in progress; output written outside a run (a job's late timer) is dropped. */
let current: { run: number; controller: AbortController } | undefined;

function captureOutput(stream: NodeJS.WriteStream, fd: OutputStream): void {
  stream.write = ((chunk: string | Uint8Array, encoding?: unknown, callback?: unknown): boolean => {
    if (current) {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      post({ type: "output", run: current.run, stream: fd, text });
    }
    const done = typeof encoding === "function" ? encoding : callback;
    if (typeof done === "function") queueMicrotask(() => (done as () => void)());
    return true;
  }) as typeof stream.write;
}
captureOutput(process.stdout, 1);
captureOutput(process.stderr, 2);

let graph: Graph | undefined;
let loadProblem: string | undefined;
try {
  graph = await loadGraph(graphFile);
} catch (error) {
  loadProblem = `the function worker could not load ${graphFile}: ${error instanceof Error ? error.message : String(error)}`;
}

function execFunction(label: string): FunctionExec | string {
  if (!graph) return loadProblem!;
  const exec = graph.job(label)?.exec;
  if (!exec) return `the graph in ${graphFile} has no job "${label}" any more (was it changed during the build?)`;
  if (exec.kind !== "function") return `job "${label}" in ${graphFile} is no longer an in-process function job`;
  return exec;
}

const OWN_FILE = new URL(import.meta.url).pathname;

/** The error and its stack, without the frames of this worker's own machinery. */
function thrown(error: unknown): ThrownError {
  if (!(error instanceof Error)) return { message: String(error), stack: String(error) };
  const frames = (error.stack ?? error.message).split("\n");
  const stack = frames.filter((line) => !line.includes(OWN_FILE) && !line.includes("node:internal")).join("\n");
  return { message: error.message, stack };
}

function start(message: Extract<ToWorker, { type: "run" }>): void {
  const { run } = message;
  const exec = execFunction(message.jobLabel);
  if (typeof exec === "string") {
    post({ type: "unusable", run, message: exec });
    return;
  }
  const controller = new AbortController();
  current = { run, controller };
  const context: ExecContext = {
    jobLabel: message.jobLabel,
    buildId: message.buildId,
    jobRunId: message.jobRunId,
    signal: controller.signal,
    log: (line: string) => {
      if (current?.run === run) post({ type: "log", run, line: String(line) });
    },
  };
  const finish = (error?: unknown): void => {
    if (current?.run !== run) return;
    current = undefined;
    post(error === undefined ? { type: "done", run } : { type: "done", run, error: thrown(error) });
  };
  let result: unknown;
  try {
    result = exec.run(JSON.parse(message.config) as JobConfig, context);
  } catch (error) {
    finish(error ?? new Error("threw a nullish value"));
    return;
  }
  if (typeof (result as { then?: unknown } | undefined)?.then !== "function") {
    finish();
    return;
  }
  (result as Promise<unknown>).then(
    () => finish(),
    (error: unknown) => finish(error ?? new Error("rejected with a nullish value")),
  );
}

port.on("message", (message: ToWorker) => {
  if (message.type === "run") start(message);
  else if (message.type === "abort" && current?.run === message.run)
    current.controller.abort(new Error(message.reason));
});
