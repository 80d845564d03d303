/**
 * @module The TypeScript GSL's job helper. A job names its output patterns, a
 * config function (per partition, or batched over every partition a round
 * needs) and an exec: a command (run by the exec wrapper, SPEC 3.2) or an
 * async function run in-process.
 */
import { DepType, type JobConfig } from "../gen/databuild_pb.ts";
import type { ExecContext } from "../core/job.ts";
import { dataDep, partitionRef } from "../core/messages.ts";
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
  /** A command (argv, relative paths against the graph file's directory) or an in-process function. */
  readonly exec: readonly string[] | ExecFunction;
}

/** Configured one partition at a time: the run produces exactly `ref`. */
export interface PerPartitionJobSpec<Ps extends readonly string[]> extends JobSpecBase<Ps> {
  readonly config?: (params: PatternParams<Ps>, ref: string) => TaskConfigInit | Promise<TaskConfigInit>;
  readonly configBatch?: never;
}

/** Configured for all partitions of a round at once; a run may produce several. */
export interface BatchedJobSpec<Ps extends readonly string[]> extends JobSpecBase<Ps> {
  readonly config?: never;
  readonly configBatch: (
    wanted: readonly WantedRef<Ps>[],
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
  return { kind: "databuild.job", spec: spec as unknown as JobSpec, definedAt: callerLocation() };
}

/**
 * The file:line of the user code that called a define* helper, from the
 * stack. A graph file compiled as CommonJS (no `"type": "module"` in its
 * package.json) runs from a data: URL without a usable line; then only the
 * file is given.
 */
export function callerLocation(): string | undefined {
  const frame = new Error().stack?.split("\n")[3]?.trim();
  if (!frame) return undefined;
  const cjs = /[?&]filePath=([^:?&]+)/.exec(frame);
  if (cjs) return decodeURIComponent(cjs[1]!).replace(/\?.*$/, "");
  const m = /\(?((?:file:\/\/)?[^()\s]+?)(?:\?[^:()\s]*)?:(\d+):\d+\)?$/.exec(frame);
  return m ? `${m[1]!.replace(/^file:\/\//, "")}:${m[2]}` : undefined;
}

/** Converts a config function's result to the proto JobConfig (built directly: this runs once per planned task). */
export function toJobConfig(outputs: readonly string[], init: TaskConfigInit): JobConfig {
  const inputs = init.inputs;
  return {
    $typeName: "databuild.v1.JobConfig",
    outputs: outputs.map(partitionRef),
    inputs: inputs
      ? inputs.map((input) =>
          typeof input === "string"
            ? dataDep(input)
            : dataDep(input.ref, input.type === "query" ? DepType.QUERY : DepType.MATERIALIZE),
        )
      : [],
    args: init.args ? [...init.args] : [],
    env: init.env ? { ...init.env } : {},
  };
}
