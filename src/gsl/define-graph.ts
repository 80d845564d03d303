/**
 * @module The TypeScript GSL's graph helper, and the conversion of a GSL
 * graph into the graph model.
 */
import { DepType } from "../gen/databuild_pb.ts";
import { collectConfigs, type ConfigSink } from "../core/config-sink.ts";
import { GraphDefinitionError } from "../core/errors.ts";
import { createGraph, type Graph } from "../core/graph.ts";
import type { JobDefinition, JobExec, WantedPartition } from "../core/job.ts";
import { parseOutputPattern, type OutputPattern } from "../core/output-pattern.ts";
import { parseVersion } from "../core/version.ts";
import { cpusProblem, parseMemory } from "../core/resources.ts";
import {
  callerLocation,
  limitConfigCall,
  type BatchConfigInit,
  type DefinedJob,
  type InputSpec,
  type JobSpec,
  type TaskConfigInit,
} from "./define-job.ts";
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
    definedAt: callerLocation(defineGraph),
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
    ...configureFunctions(spec),
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

type ConfigureInto = NonNullable<JobDefinition["configureInto"]>;

/**
 * The job's config step, feeding a ConfigSink (`configureInto`; `configure`
 * collects the same into messages). A returned promise is held to the call's
 * time limit and cancel (limitConfigCall).
 */
function configureFunctions(spec: JobSpec): Pick<JobDefinition, "configure" | "configureInto" | "configEachRef"> {
  const configureInto = configureIntoFunction(spec);
  return {
    configure: (wanted, options) => collectConfigs(wanted, (sink) => configureInto(wanted, sink, options)),
    configureInto,
    configEachRef: !spec.configBatch,
  };
}

function configureIntoFunction(spec: JobSpec): ConfigureInto {
  const batch = spec.configBatch;
  const label = spec.label;
  const refsOf = (wanted: readonly WantedPartition[]) => () => wanted.map((w) => w.ref);
  if (batch) {
    return async (wanted, sink, options) => {
      const call = limitConfigCall(label, options);
      const result = batch(wanted.map(asWantedRef), call.context);
      const inits = isThenable(result) ? await call.wait(result, refsOf(wanted)) : result;
      if (!Array.isArray(inits)) throw new Error("configBatch must return a list of configs");
      for (const init of inits as readonly BatchConfigInit[]) {
        sink.config();
        const outputs = init.outputs ?? [];
        if (!Array.isArray(outputs)) throw new Error("a config's `outputs` must be a list of refs");
        for (const output of outputs) sink.output(output);
        feedInit(init, sink);
      }
    };
  }
  const perPartition = spec.config;
  if (!perPartition)
    return (wanted, sink) => {
      for (let k = 0; k < wanted.length; k++) {
        sink.config();
        sink.wantedOutput(k);
      }
    };
  return (wanted, sink, options) => {
    const call = limitConfigCall(label, options);
    // Each result goes to the sink at once (it then dies young); stay synchronous
    // unless the user's config is async: a promise per ref is costly at 100k refs.
    let k = 0;
    let init: TaskConfigInit | PromiseLike<TaskConfigInit> | undefined;
    for (; k < wanted.length; k++) {
      const w = wanted[k]!;
      init = perPartition(w.params as never, w.ref, call.context);
      if (isThenable(init)) break;
      sink.config();
      sink.wantedOutput(k);
      feedInit(init, sink);
    }
    if (k === wanted.length) return;
    const first = k;
    const pending = [init!];
    for (k = first + 1; k < wanted.length; k++) {
      const w = wanted[k]!;
      pending.push(perPartition(w.params as never, w.ref, call.context));
    }
    return call.wait(Promise.all(pending), refsOf(wanted)).then((inits) => {
      inits.forEach((result, i) => {
        sink.config();
        sink.wantedOutput(first + i);
        feedInit(result, sink);
      });
    });
  };
}

/** A config function's inputs, args and env, to the sink. */
function feedInit(init: TaskConfigInit, sink: ConfigSink): void {
  if (typeof init !== "object" || init === null)
    throw new Error(`a config must be an object ({ inputs, args, env }), got ${init === null ? "null" : typeof init}`);
  const { inputs, args, env } = init;
  if (inputs) {
    if (!Array.isArray(inputs)) throw new Error("a config's `inputs` must be a list of refs");
    for (const input of inputs as readonly InputSpec[]) {
      if (typeof input === "string") sink.input(input, DepType.MATERIALIZE);
      else sink.input(input.ref, input.type === "query" ? DepType.QUERY : DepType.MATERIALIZE);
    }
  }
  if (args) {
    if (!Array.isArray(args)) throw new Error("a config's `args` must be a list of strings");
    for (const arg of args as readonly string[]) sink.arg(arg);
  }
  if (env) for (const name of Object.keys(env)) sink.env(name, env[name]!);
}

function asWantedRef(w: WantedPartition): { ref: string; params: never; pattern: string } {
  return { ref: w.ref, params: w.params as never, pattern: (w.pattern as OutputPattern).source };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
}
