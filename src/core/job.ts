/**
 * @module The graph model's job: what every graph specification language
 * (TypeScript GSL, manifest) loads into.
 */
import type { JobConfig } from "../gen/databuild_pb.ts";
import type { OutputPattern } from "./output-pattern.ts";

/** A ref a job is asked to produce, with the parameters its pattern matched. */
export interface WantedPartition {
  readonly ref: string;
  readonly params: Readonly<Record<string, string>>;
  readonly pattern: OutputPattern;
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

export interface JobDefinition {
  readonly label: string;
  readonly outputs: readonly OutputPattern[];
  /** Dataset version (semver); "0.0.0" when undeclared. */
  readonly version: string;
  /** Per-run time limit in milliseconds, if any. */
  readonly timeoutMs?: number;
  /**
   * Returns the configs that produce `wanted`, called once per analysis round
   * with every ref the round needs from this job. Throws ConfigError when the
   * job cannot be configured for them.
   */
  configure(wanted: readonly WantedPartition[]): Promise<JobConfig[]> | JobConfig[];
  readonly exec: JobExec;
  /** Where the job is defined ("databuild.yaml, job 3"), for messages. */
  readonly definedAt?: string;
}
