/**
 * @module The TypeScript GSL's job helper. A job names its output patterns, a
 * config function (per partition, or batched over every partition a round
 * needs) and an exec: a command (run by the exec wrapper, SPEC 3.2) or an
 * async function run in-process.
 */
import type { JobConfig } from "../gen/databuild_pb.ts";
import { ConfigError } from "../core/errors.ts";
import { configureOptions, type ConfigureOptions, type ExecContext } from "../core/job.ts";
import type { PatternParams } from "./pattern-params.ts";

/** An input: a ref string (MATERIALIZE), or a ref with its dep type. */
export type InputSpec = string | { readonly ref: string; readonly type: "materialize" | "query" };

/** An input that must be built before the job runs. */
export function materialize(ref: string): InputSpec {
  return { ref, type: "materialize" };
}

/** An input the job reads if present; databuild never builds it. */
export function query(ref: string): InputSpec {
  return { ref, type: "query" };
}

/** What a config function returns for one job run. */
export interface TaskConfigInit {
  readonly inputs?: readonly InputSpec[];
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** A batched config's entry: it must name the outputs it produces. */
export interface BatchConfigInit extends TaskConfigInit {
  readonly outputs: readonly string[];
}

/** One partition a batched config is asked for. */
export interface WantedRef<Ps extends readonly string[]> {
  readonly ref: string;
  readonly params: PatternParams<Ps>;
  /** The output pattern the ref matched. */
  readonly pattern: Ps[number];
}

/** An in-process exec function. Throwing (or rejecting) fails the job run. */
export type ExecFunction = (config: JobConfig, context: ExecContext) => Promise<void> | void;

interface JobSpecBase<Ps extends readonly string[]> {
  /** Unique in the graph. */
  readonly label: string;
  /** Output patterns; `{name}` matches one or more characters other than "/". */
  readonly outputs: Ps;
  /** Dataset version (semver); a major bump makes earlier partitions stale. Default "0.0.0". */
  readonly version?: string;
  /** Per-run time limit in seconds. */
  readonly timeoutSeconds?: number;
  /**
   * Time limit of one call of the config function, in seconds (default 300,
   * or `--config-timeout`): a promise still unsettled then fails the
   * analysis. A function that blocks synchronously cannot be stopped.
   */
  readonly configTimeoutSeconds?: number;
  /**
   * The most output (bytes) of one run recorded in the build event log
   * (default 16 MiB, or `--log-limit`); what the job prints beyond it is
   * dropped and counted.
   */
  readonly logLimitBytes?: number;
  /**
   * What a worker must offer to run the job under `--launcher worker`: these
   * labels (`databuild worker --label k=v`) and this many slots (default 1).
   */
  readonly requires?: { readonly labels?: Readonly<Record<string, string>>; readonly slots?: number };
  /**
   * What one run is given where a launcher allocates it (`--launcher slurm`:
   * `--cpus-per-task`, `--mem`): CPUs, and memory as a size ("4GiB") or bytes.
   * The time limit is `timeoutSeconds`.
   */
  readonly resources?: { readonly cpus?: number; readonly memory?: string | number };
  /** A command (argv, relative paths against the graph file's directory) or an in-process function. */
  readonly exec: readonly string[] | ExecFunction;
}

/** What a config function is handed besides its refs. */
export interface ConfigContext {
  /** Aborted when the analysis is cancelled or the call passed its time limit: stop waiting on anything. */
  readonly signal: AbortSignal;
}

/** Configured one partition at a time: the run produces exactly `ref`. */
export interface PerPartitionJobSpec<Ps extends readonly string[]> extends JobSpecBase<Ps> {
  readonly config?: (
    params: PatternParams<Ps>,
    ref: string,
    context: ConfigContext,
  ) => TaskConfigInit | Promise<TaskConfigInit>;
  readonly configBatch?: never;
}

/** Configured for all partitions of a round at once; a run may produce several. */
export interface BatchedJobSpec<Ps extends readonly string[]> extends JobSpecBase<Ps> {
  readonly config?: never;
  readonly configBatch: (
    wanted: readonly WantedRef<Ps>[],
    context: ConfigContext,
  ) => readonly BatchConfigInit[] | Promise<readonly BatchConfigInit[]>;
}

export type JobSpec<Ps extends readonly string[] = readonly string[]> = PerPartitionJobSpec<Ps> | BatchedJobSpec<Ps>;

/** A job as the GSL declares it; `defineGraph` turns jobs into a graph. */
export interface DefinedJob {
  readonly kind: "databuild.job";
  readonly spec: JobSpec;
  /** Where defineJob was called ("file:line"), for messages. */
  readonly definedAt?: string;
}

/**
 * Declares a job. Parameters in `outputs` type the config function:
 * `defineJob({ outputs: ["clean/date={date}"], config: ({ date }) => ... })`.
 */
export function defineJob<const Ps extends readonly string[]>(spec: JobSpec<Ps>): DefinedJob {
  return { kind: "databuild.job", spec: spec as unknown as JobSpec, definedAt: callerLocation(defineJob) };
}

/**
 * The file:line of the user code that called `helper` (a define* function),
 * from the stack. A graph file compiled as CommonJS (no `"type": "module"` in
 * its package.json) runs from a data: URL without a usable line; then only
 * the file is given. Only that one frame is captured: with source maps on
 * (the CLI), formatting a frame parses its file's source map, and the
 * helper's own frames would parse databuild's whole bundle map (~50 ms).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any define* helper
export function callerLocation(helper: Function): string | undefined {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 1;
    Error.captureStackTrace(holder, helper);
  } finally {
    Error.stackTraceLimit = limit;
  }
  const frame = holder.stack?.split("\n")[1]?.trim();
  if (!frame) return undefined;
  const cjs = /[?&]filePath=([^:?&]+)/.exec(frame);
  if (cjs) return decodeURIComponent(cjs[1]!).replace(/\?.*$/, "");
  const m = /\(?((?:file:\/\/)?[^()\s]+?)(?:\?[^:()\s]*)?:(\d+):\d+\)?$/.exec(frame);
  return m ? `${m[1]!.replace(/^file:\/\//, "")}:${m[2]}` : undefined;
}

/** A config function's call held to its limits: see `limitConfigCall`. */
export interface LimitedConfigCall {
  /** Hand this to the config function. */
  readonly context: ConfigContext;
  /**
   * Waits for what the function returned, until it settles, the time limit
   * passes or the analysis is cancelled; the last two abort `context.signal`
   * and fail with a ConfigError naming the job, `refs` and the limit,
   * whether or not the function's promise ever settles.
   */
  wait<T>(pending: PromiseLike<T>, refs: () => readonly string[]): Promise<T>;
}

/**
 * Limits for one call of `job`'s config function (`options` from the
 * planner, else the defaults). Only a returned promise can be held to them:
 * nothing interrupts a function that blocks synchronously.
 */
export function limitConfigCall(job: string, options: ConfigureOptions | undefined): LimitedConfigCall {
  const limits = options ?? configureOptions({});
  const controller = new AbortController();
  const outer = limits.signal;
  return {
    context: { signal: controller.signal },
    async wait<T>(pending: PromiseLike<T>, refs: () => readonly string[]): Promise<T> {
      const fail = (problem: string) => new ConfigError(job, refs(), problem);
      let timer: ReturnType<typeof setTimeout> | undefined;
      let onAbort: (() => void) | undefined;
      const stopped = new Promise<never>((_, reject) => {
        onAbort = () => {
          controller.abort(outer!.reason);
          reject(fail(`config function was cancelled: ${reasonText(outer!.reason)}`));
        };
        if (outer?.aborted) return onAbort();
        outer?.addEventListener("abort", onAbort, { once: true });
        timer = setTimeout(() => {
          const origin = {
            job: "the job's configTimeoutSeconds",
            option: "set by --config-timeout",
            default: "the default; raise it with the job's configTimeoutSeconds or --config-timeout",
          }[limits.timeoutOrigin];
          const seconds = `${Number((limits.timeoutMs / 1000).toPrecision(6))} s`;
          controller.abort(`the config call passed its time limit of ${seconds}`);
          reject(fail(`config function did not settle within its time limit of ${seconds} (${origin})`));
        }, limits.timeoutMs);
      });
      try {
        return await Promise.race([pending, stopped]);
      } finally {
        clearTimeout(timer);
        if (onAbort) outer?.removeEventListener("abort", onAbort);
      }
    },
  };
}

function reasonText(reason: unknown): string {
  if (typeof reason === "string") return reason;
  if (reason instanceof Error && reason.name !== "AbortError") return reason.message;
  return "cancelled";
}
