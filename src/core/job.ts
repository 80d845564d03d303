/**
 * @module The graph model's job: what every graph specification language
 * (TypeScript GSL, manifest) loads into.
 */
import type { JobConfig } from "../gen/databuild_pb.ts";
import type { ConfigSink } from "./config-sink.ts";
import type { OutputPattern } from "./output-pattern.ts";
import type { JobResources } from "./resources.ts";

/** A ref a job is asked to produce, with the parameters its pattern matched. */
export interface WantedPartition {
  readonly ref: string;
  readonly params: Readonly<Record<string, string>>;
  readonly pattern: OutputPattern;
}

/**
 * `ref` as a WantedPartition of `pattern` (which must match it), its
 * parameters worked out when asked for: the planner holds a round's refs
 * (hundreds of thousands) until their config call, which reads each one's
 * parameters once, so they need not outlive it.
 */
export function wantedPartition(ref: string, pattern: OutputPattern): WantedPartition {
  return new LazyWanted(ref, pattern);
}

class LazyWanted implements WantedPartition {
  constructor(
    readonly ref: string,
    readonly pattern: OutputPattern,
  ) {}

  get params(): Record<string, string> {
    return this.pattern.match(this.ref)!;
  }
}

/** An executable job: a command run by the exec wrapper (SPEC 3.2). */
export interface CommandExec {
  readonly kind: "command";
  /** argv; `config.args` are appended. */
  readonly command: readonly string[];
  /** Working directory: the graph file's directory. */
  readonly cwd: string;
}

/** Context handed to an in-process exec function. */
export interface ExecContext {
  readonly jobLabel: string;
  readonly buildId: string;
  readonly jobRunId: string;
  /** Aborted when the job is cancelled or times out. */
  readonly signal: AbortSignal;
  /** Records a line in the job's log. */
  log(line: string): void;
}

/** A TypeScript job run inside the databuild process. */
export interface FunctionExec {
  readonly kind: "function";
  run(config: JobConfig, context: ExecContext): Promise<void> | void;
}

export type JobExec = CommandExec | FunctionExec;

/** The limits of a config call (SPEC 3.2): how long it may take, and how much a config command may print. */
export interface ConfigLimits {
  /** Time limit of one config call, in milliseconds. */
  readonly timeoutMs: number;
  /** Most bytes a config command may print on stdout (its response); stderr is only tailed. */
  readonly maxOutputBytes: number;
}

/**
 * The defaults: 5 minutes, 64 MiB. A config should answer in well under a
 * second (it is called while planning, maybe for thousands of refs per call);
 * 5 minutes leaves room for one that queries a slow catalog for a large
 * backfill, and still ends a hung one within a CI run. 64 MiB is over twenty
 * times the response for 3,000 refs (one call) with a hundred inputs each,
 * yet bounds what one call holds in memory.
 */
export const DEFAULT_CONFIG_LIMITS: ConfigLimits = { timeoutMs: 300_000, maxOutputBytes: 64 * 1024 * 1024 };

/** Where a limit came from, for messages: the job's own setting, the caller's (a command-line flag), or the default. */
export type ConfigLimitOrigin = "job" | "option" | "default";

/** What the planner hands each config call. */
export interface ConfigureOptions extends ConfigLimits {
  readonly timeoutOrigin: ConfigLimitOrigin;
  readonly maxOutputOrigin: ConfigLimitOrigin;
  /** Aborted when the analysis is cancelled: the call must stop its work and settle promptly. */
  readonly signal?: AbortSignal;
}

/**
 * The limits of `job`'s config calls: the job's own settings win, then
 * `overrides` (the command-line flags), then DEFAULT_CONFIG_LIMITS.
 */
export function configureOptions(
  job: Pick<JobDefinition, "configTimeoutMs" | "configMaxOutputBytes">,
  overrides: Partial<ConfigLimits> = {},
  signal?: AbortSignal,
): ConfigureOptions {
  const pick = (own: number | undefined, option: number | undefined, fallback: number) =>
    own !== undefined
      ? ([own, "job"] as const)
      : option !== undefined
        ? ([option, "option"] as const)
        : ([fallback, "default"] as const);
  const [timeoutMs, timeoutOrigin] = pick(job.configTimeoutMs, overrides.timeoutMs, DEFAULT_CONFIG_LIMITS.timeoutMs);
  const [maxOutputBytes, maxOutputOrigin] = pick(
    job.configMaxOutputBytes,
    overrides.maxOutputBytes,
    DEFAULT_CONFIG_LIMITS.maxOutputBytes,
  );
  return { timeoutMs, timeoutOrigin, maxOutputBytes, maxOutputOrigin, signal };
}

/** What a job needs of the worker that runs it (`databuild worker --label k=v --slots N`). */
export interface WorkerRequirements {
  readonly labels: Readonly<Record<string, string>>;
  readonly slots: number;
}

export interface JobDefinition {
  readonly label: string;
  readonly outputs: readonly OutputPattern[];
  /** Dataset version (semver); "0.0.0" when undeclared. */
  readonly version: string;
  /** Per-run time limit in milliseconds, if any. */
  readonly timeoutMs?: number;
  /** The job's own time limit of one config call, in milliseconds (else the caller's, else the default). */
  readonly configTimeoutMs?: number;
  /** The job's own cap on what one config command call prints on stdout, in bytes. */
  readonly configMaxOutputBytes?: number;
  /**
   * The job's own log limit: the most output of one run recorded in the log,
   * in bytes (else the build's `--log-limit`, else 16 MiB); the rest is
   * dropped and counted.
   */
  readonly logLimitBytes?: number;
  /**
   * What a worker must offer to run the job under `--launcher worker`: every
   * one of these labels, and this many of its slots (default 1).
   */
  readonly requires?: WorkerRequirements;
  /**
   * What one run is given where a launcher allocates it (`--launcher slurm`:
   * `--cpus-per-task`, `--mem`; the time limit comes from `timeoutMs`).
   */
  readonly resources?: JobResources;
  /**
   * Returns the configs that produce `wanted`, called once per analysis round
   * with every ref the round needs from this job. Throws ConfigError when the
   * job cannot be configured for them. An implementation enforces `options`:
   * a call past its time limit (or a command past its output cap) fails with
   * a ConfigError naming the limit, and once `options.signal` aborts it stops
   * (a command: its whole process group) and settles promptly. Without
   * `options`, DEFAULT_CONFIG_LIMITS apply.
   */
  configure(wanted: readonly WantedPartition[], options?: ConfigureOptions): Promise<JobConfig[]> | JobConfig[];
  /**
   * The same configs as `configure`, handed to `sink` one at a time as plain
   * data instead of returned as messages: what the planner calls when a job
   * has it (the GSL and manifest jobs do), so that planning a million
   * partitions makes no proto object per task or input. Same limits and
   * failures as `configure`.
   */
  configureInto?(
    wanted: readonly WantedPartition[],
    sink: ConfigSink,
    options?: ConfigureOptions,
  ): Promise<void> | void;
  /**
   * True when the config of each ref depends on that ref alone (the GSL's
   * per-partition config): the planner may then call `configureInto` for a
   * round's refs in parts, each part a call with its own limits, so that it
   * never holds a WantedPartition for each of a million refs at once.
   */
  readonly configEachRef?: boolean;
  readonly exec: JobExec;
  /** Where the job is defined ("databuild.yaml, job 3"), for messages. */
  readonly definedAt?: string;
}
