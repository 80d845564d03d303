/**
 * @module The TypeScript GSL's trigger helpers (SPEC 3.8): `defineSchedule`
 * (cron + time zone + the partitions a tick requests) and `defineSensor`
 * (`eager`, or an `evaluate` function of the catalog), and their conversion
 * to the trigger model (src/core/triggers.ts), which the manifest loader
 * shares so both GSLs are checked alike.
 */
import { GraphDefinitionError } from "../core/errors.ts";
import type { JobDefinition } from "../core/job.ts";
import { parseOutputPattern, type OutputPattern } from "../core/output-pattern.ts";
import {
  DEFAULT_CATCH_UP_LIMIT,
  expandTemplates,
  templateProblem,
  tickDates,
  triggerNameProblem,
  type SensorContext,
  type SensorFiring,
  type TickDates,
  type TriggerDefinition,
} from "../core/triggers.ts";
import { compileCron } from "./cron.ts";
import { callerLocation } from "./define-job.ts";

/** A schedule: every `cron` tick (in `timeZone`) requests `partitions`. */
export interface ScheduleSpec {
  /** Unique among the graph's triggers: letters, digits, "_", "-", ".". */
  readonly name: string;
  /** Five fields (minute hour day-of-month month day-of-week), six with seconds first, or @daily, @hourly, ... */
  readonly cron: string;
  /** IANA time zone the cron expression and the tick's dates are read in (default "UTC"). */
  readonly timeZone?: string;
  /**
   * The partitions of a tick: a function of the tick time (and its dates in
   * the zone), or templates: `{date}` is the day before the tick,
   * `{tick_date}` its day, `{tick_hour}` its hour, and any other parameter
   * takes each value listed in `params`.
   */
  readonly partitions: ((tick: Date, dates: TickDates) => readonly string[]) | readonly string[];
  /** Values of the templates' other parameters: `{ category: ["comedy", "true-crime"] }`. */
  readonly params?: Readonly<Record<string, readonly string[]>>;
  /** Most missed ticks evaluated when a service starts after missing some (the newest); default 3. */
  readonly catchUp?: number;
}

/** An eager sensor: requests a partition of `eager` once every MATERIALIZE input of it is available. */
export interface EagerSensorSpec {
  readonly name: string;
  /** An output pattern of one job ("daily/category={category}/date={date}"), or a job's label (all its patterns). */
  readonly eager: string;
  /**
   * The patterns whose new partitions wake it. A landed ref's parameters
   * name the candidates: the target with the same parameter values.
   */
  readonly on: readonly string[];
  /** Values of target parameters no `on` pattern has: each combination is a candidate. */
  readonly params?: Readonly<Record<string, readonly string[]>>;
}

/** A function sensor: `evaluate` says what to build (and under which key), or undefined for nothing. */
export interface FunctionSensorSpec {
  readonly name: string;
  readonly evaluate: (context: SensorContext) => SensorFiring | undefined | Promise<SensorFiring | undefined>;
  /** Least time between evaluations, in seconds (default: every poll of the service, 1 s). */
  readonly intervalSeconds?: number;
  /** What it does, for `databuild triggers`. */
  readonly description?: string;
}

export type SensorSpec = EagerSensorSpec | FunctionSensorSpec;

/** A trigger as the GSL declares it; list it in `defineGraph({ triggers })`. */
export interface DefinedTrigger {
  readonly kind: "databuild.trigger";
  readonly type: "schedule" | "sensor";
  readonly spec: ScheduleSpec | SensorSpec;
  readonly definedAt?: string;
}

/** Declares a schedule. */
export function defineSchedule(spec: ScheduleSpec): DefinedTrigger {
  return { kind: "databuild.trigger", type: "schedule", spec, definedAt: callerLocation(defineSchedule) };
}

/** Declares a sensor: `{ name, eager, on }` or `{ name, evaluate }`. */
export function defineSensor(spec: SensorSpec): DefinedTrigger {
  return { kind: "databuild.trigger", type: "sensor", spec, definedAt: callerLocation(defineSensor) };
}

/** True when `value` came from defineSchedule or defineSensor. */
export function isDefinedTrigger(value: unknown): value is DefinedTrigger {
  return typeof value === "object" && value !== null && (value as DefinedTrigger).kind === "databuild.trigger";
}

/**
 * Converts a declared trigger to the model, checking it. Throws
 * GraphDefinitionError naming the trigger and `where` (its file:line).
 */
export function toTriggerDefinition(
  defined: DefinedTrigger,
  jobs: readonly JobDefinition[],
  where: string | undefined,
): TriggerDefinition {
  const spec = defined.spec as unknown as Record<string, unknown>;
  const nameProblem = triggerNameProblem(spec.name);
  if (nameProblem) throw new GraphDefinitionError(nameProblem, where);
  const name = spec.name as string;
  const fail = (problem: string): never => {
    throw new GraphDefinitionError(`trigger "${name}": ${problem}`, where);
  };
  if (defined.type === "schedule") return toSchedule(defined.spec as ScheduleSpec, where, fail);
  if ("eager" in spec && "evaluate" in spec) fail("a sensor is either `eager` or has `evaluate`, not both");
  if ("eager" in spec) return toEagerSensor(defined.spec as EagerSensorSpec, jobs, where, fail);
  if (typeof spec.evaluate !== "function")
    return fail("a sensor needs `eager` (a job's output pattern or label) or `evaluate` (a function)");
  const sensor = defined.spec as FunctionSensorSpec;
  const interval = sensor.intervalSeconds;
  if (interval !== undefined && !(typeof interval === "number" && interval > 0))
    fail("`intervalSeconds` must be a positive number");
  return {
    kind: "sensor",
    policy: "function",
    name,
    evaluate: sensor.evaluate,
    intervalMs: interval === undefined ? undefined : interval * 1000,
    description: typeof sensor.description === "string" && sensor.description ? sensor.description : "a function",
    definedAt: where,
  };
}

function toSchedule(spec: ScheduleSpec, where: string | undefined, fail: (problem: string) => never) {
  const timeZone = spec.timeZone ?? "UTC";
  const times = compileCron(spec.cron, timeZone);
  if (typeof times === "string") fail(times);
  const catchUp = spec.catchUp ?? DEFAULT_CATCH_UP_LIMIT;
  if (!(Number.isSafeInteger(catchUp) && catchUp >= 0)) fail("`catchUp` must be a whole number, 0 or more");
  const common = {
    kind: "schedule" as const,
    name: spec.name,
    cron: spec.cron,
    timeZone,
    times: times as Exclude<typeof times, string>,
    catchUpLimit: catchUp,
    definedAt: where,
  };
  if (typeof spec.partitions === "function") {
    const compute = spec.partitions;
    if (spec.params !== undefined) fail("`params` goes with partition templates, not a `partitions` function");
    return {
      ...common,
      description: "a function of the tick",
      partitions: (tick: Date) => {
        const refs = compute(tick, tickDates(tick.getTime(), timeZone));
        if (!Array.isArray(refs) || !refs.every((r) => typeof r === "string"))
          throw new Error("the partitions function must return a list of partition refs (strings)");
        return [...new Set(refs)];
      },
    };
  }
  if (!Array.isArray(spec.partitions) || spec.partitions.length === 0)
    fail("`partitions` must be a function of the tick or a non-empty list of partition templates");
  const templates = spec.partitions.map((source) => {
    const parsed = typeof source === "string" ? parseOutputPattern(source) : "a template must be a string";
    return typeof parsed === "string" ? fail(`partition template ${JSON.stringify(source)}: ${parsed}`) : parsed;
  });
  const params = spec.params ?? {};
  const problem = templateProblem(templates, params);
  if (problem) fail(problem);
  return {
    ...common,
    templates: templates.map((t) => t.source),
    params,
    description: describeTemplates(templates, params),
    partitions: (tick: Date) => expandTemplates(templates, params, tickDates(tick.getTime(), timeZone)),
  };
}

function describeTemplates(templates: readonly OutputPattern[], params: Readonly<Record<string, readonly string[]>>) {
  const lists = Object.entries(params).map(([name, values]) => `${name} in [${values.join(", ")}]`);
  return templates.map((t) => t.source).join(", ") + (lists.length > 0 ? ` for ${lists.join(", ")}` : "");
}

function toEagerSensor(
  spec: EagerSensorSpec,
  jobs: readonly JobDefinition[],
  where: string | undefined,
  fail: (problem: string) => never,
): TriggerDefinition {
  if (typeof spec.eager !== "string" || spec.eager === "")
    fail("`eager` must be an output pattern of a job, or a job's label");
  const job = jobs.find((j) => j.label === spec.eager);
  let targets: readonly OutputPattern[];
  if (job) targets = job.outputs;
  else {
    const parsed = parseOutputPattern(spec.eager);
    targets = [typeof parsed === "string" ? fail(`eager: ${JSON.stringify(spec.eager)}: ${parsed}`) : parsed];
  }
  if (!Array.isArray(spec.on) || spec.on.length === 0)
    fail("`on` must list the patterns whose new partitions wake the sensor (the inputs of its target)");
  const on = spec.on.map((source) => {
    const parsed = typeof source === "string" ? parseOutputPattern(source) : "a pattern must be a string";
    return typeof parsed === "string" ? fail(`on: ${JSON.stringify(source)}: ${parsed}`) : parsed;
  });
  const params = spec.params ?? {};
  for (const [name, values] of Object.entries(params))
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === "string" && v !== ""))
      fail(`params.${name} must be a non-empty list of non-empty strings`);
  const target = job ? `job ${job.label} (${targets.map((t) => t.source).join(", ")})` : targets[0]!.source;
  return {
    kind: "sensor",
    policy: "eager",
    name: spec.name,
    targets,
    on,
    params,
    description: `eager: ${target} when ${on.map((p) => p.source).join(", ")} lands`,
    definedAt: where,
  };
}
