/**
 * @module The TypeScript GSL's graph helper, and the conversion of a GSL
 * graph into the graph model.
 */
import type { JobConfig } from "../gen/databuild_pb.ts";
import { GraphDefinitionError } from "../core/errors.ts";
import { createGraph, type Graph } from "../core/graph.ts";
import type { JobDefinition, JobExec, WantedPartition } from "../core/job.ts";
import { parseOutputPattern, type OutputPattern } from "../core/output-pattern.ts";
import { parseVersion } from "../core/version.ts";
import { cpusProblem, parseMemory } from "../core/resources.ts";
import { callerLocation, limitConfigCall, toJobConfig, type DefinedJob, type JobSpec } from "./define-job.ts";
import { isDefinedTrigger, toTriggerDefinition, type DefinedTrigger } from "./define-trigger.ts";

export interface DefinedGraph {
  readonly kind: "databuild.graph";
  readonly label: string;
  readonly jobs: readonly DefinedJob[];
  /** Schedules and sensors (defineSchedule, defineSensor). */
  readonly triggers?: readonly DefinedTrigger[];
  readonly definedAt?: string;
}

/** Declares a graph: a label, its jobs and its triggers. Export it as the module's default. */
export function defineGraph(spec: {
  label: string;
  jobs: readonly DefinedJob[];
  triggers?: readonly DefinedTrigger[];
}): DefinedGraph {
  return {
    kind: "databuild.graph",
    label: spec.label,
    jobs: spec.jobs,
    triggers: spec.triggers,
    definedAt: callerLocation(),
  };
}

/** True when `value` is a graph made by defineGraph. */
export function isDefinedGraph(value: unknown): value is DefinedGraph {
  return typeof value === "object" && value !== null && (value as DefinedGraph).kind === "databuild.graph";
}

/**
 * Converts a GSL graph to the graph model. Command jobs run in `baseDir`.
 * Throws GraphDefinitionError naming the job and `file` for invalid specs.
 */
export function toGraph(defined: DefinedGraph, options: { baseDir: string; file?: string }): Graph {
  const { file } = options;
  if (typeof defined.label !== "string" || defined.label.length === 0) {
    throw new GraphDefinitionError("defineGraph needs a non-empty `label`", file);
  }
  if (!Array.isArray(defined.jobs))
    throw new GraphDefinitionError("defineGraph needs `jobs`, a list of defineJob(...) results", file);
  const jobs = defined.jobs.map((job, index) => {
    if (job?.kind !== "databuild.job") {
      throw new GraphDefinitionError(`jobs[${index}] is not a defineJob(...) result`, file);
    }
    return toJobDefinition(job, options.baseDir, file);
  });
  if (defined.triggers !== undefined && !Array.isArray(defined.triggers))
    throw new GraphDefinitionError(
      "defineGraph's `triggers` must be a list of defineSchedule/defineSensor results",
      file,
    );
  const triggers = (defined.triggers ?? []).map((trigger, index) => {
    if (!isDefinedTrigger(trigger))
      throw new GraphDefinitionError(
        `triggers[${index}] is not a defineSchedule(...) or defineSensor(...) result`,
        file,
      );
    return toTriggerDefinition(trigger, jobs, trigger.definedAt ?? file);
  });
  return createGraph(defined.label, jobs, file, triggers);
}

function toJobDefinition(job: DefinedJob, baseDir: string, file: string | undefined): JobDefinition {
  const spec = job.spec;
  const where = job.definedAt ?? file;
  const fail = (problem: string): never => {
    throw new GraphDefinitionError(`job "${spec.label}": ${problem}`, where);
  };
  if (typeof spec.label !== "string" || spec.label.length === 0) {
    throw new GraphDefinitionError("a job has no `label`", where);
  }
  if (!Array.isArray(spec.outputs) || spec.outputs.length === 0)
    fail("`outputs` must list at least one output pattern");
  const outputs = spec.outputs.map((source) => {
    const parsed = parseOutputPattern(source);
    return typeof parsed === "string" ? fail(`output pattern ${JSON.stringify(source)}: ${parsed}`) : parsed;
  });
  const version = spec.version ?? "0.0.0";
  if (!parseVersion(version)) fail(`version ${JSON.stringify(version)} is not semver (MAJOR.MINOR.PATCH)`);
  if (spec.timeoutSeconds !== undefined && !(spec.timeoutSeconds > 0))
    fail("`timeoutSeconds` must be a positive number");
  const configTimeout = spec.configTimeoutSeconds;
  if (
    configTimeout !== undefined &&
    !(typeof configTimeout === "number" && configTimeout > 0 && configTimeout <= 86_400)
  )
    fail("`configTimeoutSeconds` must be a positive number of seconds, at most 86400 (a day)");
  const logLimit = spec.logLimitBytes;
  if (logLimit !== undefined && !(Number.isSafeInteger(logLimit) && logLimit > 0))
    fail("`logLimitBytes` must be a positive whole number of bytes");
  const requires = spec.requires;
  if (requires !== undefined) {
    if (requires.slots !== undefined && !(Number.isSafeInteger(requires.slots) && requires.slots > 0))
      fail("`requires.slots` must be a whole number, at least 1");
    for (const [name, value] of Object.entries(requires.labels ?? {}))
      if (name === "" || typeof value !== "string") fail("`requires.labels` must map label names to strings");
  }
  const resources = spec.resources;
  let memoryBytes: number | undefined;
  if (resources !== undefined) {
    const cpus = resources.cpus === undefined ? undefined : cpusProblem(resources.cpus);
    if (cpus) fail(`resources.${cpus}`);
    if (resources.memory !== undefined) {
      const parsed = parseMemory(resources.memory);
      if (typeof parsed === "string") fail(`resources.${parsed}`);
      memoryBytes = parsed as number;
    }
  }
  return {
    label: spec.label,
    outputs,
    version,
    requires: requires && { labels: { ...requires.labels }, slots: requires.slots ?? 1 },
    resources: resources && { cpus: resources.cpus, memoryBytes },
    timeoutMs: spec.timeoutSeconds === undefined ? undefined : spec.timeoutSeconds * 1000,
    configTimeoutMs: configTimeout === undefined ? undefined : configTimeout * 1000,
    logLimitBytes: logLimit,
    configure: configureFunction(spec),
    exec: toExec(spec, baseDir, fail),
    definedAt: where,
  };
}

function toExec(spec: JobSpec, baseDir: string, fail: (problem: string) => never): JobExec {
  if (typeof spec.exec === "function") {
    const run = spec.exec;
    return { kind: "function", run };
  }
  if (!Array.isArray(spec.exec) || spec.exec.length === 0 || !spec.exec.every((a) => typeof a === "string")) {
    return fail("`exec` must be a command (a non-empty list of strings) or an async function");
  }
  return { kind: "command", command: spec.exec, cwd: baseDir };
}

type Configure = JobDefinition["configure"];

/** A returned promise is held to the call's time limit and cancel (limitConfigCall). */
function configureFunction(spec: JobSpec): Configure {
  const batch = spec.configBatch;
  const label = spec.label;
  const refsOf = (wanted: readonly WantedPartition[]) => () => wanted.map((w) => w.ref);
  if (batch) {
    return async (wanted, options) => {
      const call = limitConfigCall(label, options);
      const result = batch(wanted.map(asWantedRef), call.context);
      const inits = isThenable(result) ? await call.wait(result, refsOf(wanted)) : result;
      if (!Array.isArray(inits)) throw new Error("configBatch must return a list of configs");
      return inits.map((init) => toJobConfig(init.outputs ?? [], init));
    };
  }
  const perPartition = spec.config;
  if (!perPartition) return (wanted) => wanted.map((w) => toJobConfig([w.ref], {}));
  return (wanted, options) => {
    const call = limitConfigCall(label, options);
    const results = wanted.map((w) => perPartition(w.params as never, w.ref, call.context));
    // Stay synchronous unless the user's config is async: a promise per ref is costly at 100k refs.
    if (!results.some(isThenable)) return results.map((init, i) => toJobConfig([wanted[i]!.ref], init as object));
    return call
      .wait(Promise.all(results), refsOf(wanted))
      .then((inits): JobConfig[] => inits.map((init, i) => toJobConfig([wanted[i]!.ref], init)));
  };
}

function asWantedRef(w: WantedPartition): { ref: string; params: never; pattern: string } {
  return { ref: w.ref, params: w.params as never, pattern: (w.pattern as OutputPattern).source };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
}
