/**
 * @module Messages between databuild and a function worker (a worker thread
 * that runs in-process TypeScript jobs isolated from databuild's own event
 * loop, SPEC 3.2). One job runs on a worker at a time; every message about a
 * job carries its run number, so late messages of an ended run are dropped.
 */
/** What the worker is handed when it starts. */
export interface FunctionWorkerData {
  /** The graph file the worker loads to find exec functions by job label. */
  readonly graphFile: string;
}

/** databuild -> worker. */
export type ToWorker =
  | {
      readonly type: "run";
      readonly run: number;
      readonly jobLabel: string;
      readonly buildId: string;
      readonly jobRunId: string;
      /** The JobConfig as JSON: a string crosses to the thread several times faster than the message object. */
      readonly config: string;
    }
  | { readonly type: "abort"; readonly run: number; readonly reason: string };

/** 1 = stdout, 2 = stderr, like the file descriptors. */
export type OutputStream = 1 | 2;

/** worker -> databuild. */
export type FromWorker =
  /** A line passed to `context.log` (may contain newlines: split by the receiver). */
  | { readonly type: "log"; readonly run: number; readonly line: string }
  /** Text the job wrote to process.stdout / process.stderr (console.log and the like). */
  | { readonly type: "output"; readonly run: number; readonly stream: OutputStream; readonly text: string }
  | { readonly type: "done"; readonly run: number; readonly error?: ThrownError }
  /** The graph could not be loaded or has no such function job: every run on this worker fails. */
  | { readonly type: "unusable"; readonly run: number; readonly message: string };

export interface ThrownError {
  readonly message: string;
  readonly stack: string;
}
