/**
 * @module Triggers as a graph declares them (SPEC 3.8): schedules (a cron
 * expression in a time zone, and the partitions a tick requests) and sensors
 * (`eager`: request a partition once its inputs are available; or a function
 * of the catalog). Pure: the cron arithmetic comes in as `CronTimes` (built
 * by the GSL with cron-parser), the runner lives in src/triggers/.
 */
import type { OutputPattern } from "./output-pattern.ts";

/** A cron expression's occurrences in its time zone. */
export interface CronTimes {
  /** The first occurrence strictly after `afterMs`, or undefined if there is none. */
  next(afterMs: number): number | undefined;
  /** The last occurrence strictly before `beforeMs`, or undefined if there is none. */
  prev(beforeMs: number): number | undefined;
}

/** What a schedule's partitions are computed from, besides the tick time. */
export interface TickDates {
  /** The day before the tick, in the schedule's time zone (YYYY-MM-DD): a nightly run builds yesterday. */
  readonly date: string;
  /** The tick's own day in the time zone (YYYY-MM-DD). */
  readonly tickDate: string;
  /** The tick's hour in the time zone (00-23). */
  readonly tickHour: string;
}

export interface ScheduleDefinition {
  readonly kind: "schedule";
  readonly name: string;
  readonly cron: string;
  /** IANA name; "UTC" by default. */
  readonly timeZone: string;
  readonly times: CronTimes;
  /** The partitions a tick requests. Throwing makes the tick FAILED (its message says why). */
  partitions(tick: Date): string[];
  /** Partition templates as declared ("daily/date={date}"), when it has them rather than a function. */
  readonly templates?: readonly string[];
  /** Values of the templates' other parameters: each combination is requested. */
  readonly params?: Readonly<Record<string, readonly string[]>>;
  /** How a listing shows what a tick requests. */
  readonly description: string;
  /** Most ticks missed while no service ran that are still evaluated (the newest ones); older ones are MISSED. */
  readonly catchUpLimit: number;
  /** "databuild.yaml:40", "databuild.ts:12". */
  readonly definedAt?: string;
}

/** Requests `target` partitions as the partitions they are built from land. */
export interface EagerSensorDefinition {
  readonly kind: "sensor";
  readonly policy: "eager";
  readonly name: string;
  /** The output patterns of the partitions it requests (one job's). */
  readonly targets: readonly OutputPattern[];
  /** The patterns whose new manifests wake it; a landed ref's parameters name candidate targets. */
  readonly on: readonly OutputPattern[];
  /** Values of target parameters that no `on` pattern binds: each combination is a candidate. */
  readonly params: Readonly<Record<string, readonly string[]>>;
  readonly description: string;
  readonly definedAt?: string;
}

/** What a function sensor may ask of the log when it evaluates. */
export interface SensorContext {
  /** The evaluation's time. */
  readonly now: Date;
  /** Whether `ref` is available (built, and nothing since made it otherwise). */
  isAvailable(ref: string): boolean;
  /** What the catalog knows of `ref`, if anything. */
  partition(ref: string): SensorPartitionInfo | undefined;
  /** This sensor's last firing, if it fired before. */
  readonly lastFiring?: { readonly key: string; readonly time: Date };
}

export interface SensorPartitionInfo {
  /** "available", "building", "failed", "invalidated", ... */
  readonly status: string;
  /** The job run that built its current manifest ("" when never built). */
  readonly builtByJobRun: string;
  /** When that job run ended. */
  readonly builtAt?: Date;
}

/**
 * One firing: `key` makes it unique within the sensor (the same key never
 * fires twice, in any replica, ever), `partitions` what to build.
 */
export interface SensorFiring {
  readonly key: string;
  readonly partitions: readonly string[];
}

export interface FunctionSensorDefinition {
  readonly kind: "sensor";
  readonly policy: "function";
  readonly name: string;
  evaluate(context: SensorContext): SensorFiring | undefined | Promise<SensorFiring | undefined>;
  /** Least time between two evaluations (default: the runner's poll interval). */
  readonly intervalMs?: number;
  readonly description: string;
  readonly definedAt?: string;
}

export type SensorDefinition = EagerSensorDefinition | FunctionSensorDefinition;
export type TriggerDefinition = ScheduleDefinition | SensorDefinition;

/** The default catch-up limit of a schedule. */
export const DEFAULT_CATCH_UP_LIMIT = 3;

/** Trigger names: what `databuild triggers pause NAME` takes and the log records. */
export const TRIGGER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Why `name` is no trigger name, or undefined when it is one. */
export function triggerNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || name.length === 0) return "a trigger needs a non-empty `name`";
  if (name.length > 200) return `trigger name ${JSON.stringify(name.slice(0, 40))}... is longer than 200 characters`;
  if (!TRIGGER_NAME.test(name))
    return `trigger name ${JSON.stringify(name)} may hold only letters, digits, "_", "-" and "." (and not start with "-" or ".")`;
  return undefined;
}

/** The dates a tick at `tickMs` stands for in `timeZone` (`{date}` = the day before it). */
export function tickDates(tickMs: number, timeZone: string): TickDates {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(tickMs));
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  const tickDate = `${part("year")}-${part("month")}-${part("day")}`;
  // Calendar arithmetic on the zone's date: midnight UTC of that day, minus one day.
  const dayBefore = new Date(Date.UTC(Number(part("year")), Number(part("month")) - 1, Number(part("day")) - 1));
  return { date: dayBefore.toISOString().slice(0, 10), tickDate, tickHour: part("hour") };
}

/** The template parameters every schedule has: `{date}`, `{tick_date}`, `{tick_hour}`. */
export const TICK_PARAMS = ["date", "tick_date", "tick_hour"] as const;

/** Every combination of `lists` (name → values), in declaration order; one empty combination for none. */
export function combinations(lists: Readonly<Record<string, readonly string[]>>): Record<string, string>[] {
  let result: Record<string, string>[] = [{}];
  for (const [name, values] of Object.entries(lists))
    result = result.flatMap((combo) => values.map((value) => ({ ...combo, [name]: value })));
  return result;
}

/** The refs of `templates` for one tick: each combination of `params`, with the tick's dates. */
export function expandTemplates(
  templates: readonly OutputPattern[],
  params: Readonly<Record<string, readonly string[]>>,
  dates: TickDates,
): string[] {
  const tick = { date: dates.date, tick_date: dates.tickDate, tick_hour: dates.tickHour };
  const refs: string[] = [];
  for (const template of templates) {
    const own = Object.fromEntries(Object.entries(params).filter(([name]) => template.paramNames.includes(name)));
    for (const combo of combinations(own)) refs.push(template.format({ ...tick, ...combo }));
  }
  return [...new Set(refs)];
}

/**
 * What is wrong with templates and their parameter lists, or undefined:
 * every `{param}` must be a tick parameter or listed, every list used and
 * non-empty.
 */
export function templateProblem(
  templates: readonly OutputPattern[],
  params: Readonly<Record<string, readonly string[]>>,
  tickParams: readonly string[] = TICK_PARAMS,
): string | undefined {
  for (const template of templates)
    for (const name of template.paramNames)
      if (!tickParams.includes(name) && !(name in params))
        return `{${name}} in ${JSON.stringify(template.source)} has no values: list them under \`params\` (${name}: [a, b]) or use ${tickParams.map((p) => `{${p}}`).join(", ")}`;
  for (const [name, values] of Object.entries(params)) {
    if (tickParams.includes(name)) return `params.${name}: {${name}} is the tick's own; it cannot be listed`;
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === "string" && v !== ""))
      return `params.${name} must be a non-empty list of non-empty strings`;
    if (!values.every((v) => !/[\s/]/.test(v))) return `params.${name}: values may hold neither "/" nor whitespace`;
    if (!templates.some((t) => t.paramNames.includes(name)))
      return `params.${name} is used by no partition template (${templates.map((t) => t.source).join(", ")})`;
  }
  return undefined;
}

/** The trigger named `name` in `triggers`, or undefined. */
export function findTrigger(triggers: readonly TriggerDefinition[], name: string): TriggerDefinition | undefined {
  return triggers.find((t) => t.name === name);
}

/** What the graph check needs of the graph (graph.ts calls it with itself). */
export interface TriggerGraph {
  readonly jobs: readonly { readonly label: string; readonly outputs: readonly OutputPattern[] }[];
  producerOf(ref: string): { readonly job: { readonly label: string } } | undefined;
}

/**
 * What is wrong with the graph's triggers, each with where it is declared,
 * or an empty list: duplicate names, schedule templates no job produces,
 * eager sensors whose targets are no job's patterns, `on` patterns that no
 * job's outputs can match, or target parameters nothing gives a value.
 */
export function triggerProblems(
  triggers: readonly TriggerDefinition[],
  graph: TriggerGraph,
  intersect: (a: OutputPattern, b: OutputPattern) => string | undefined,
): { problem: string; definedAt?: string }[] {
  const problems: { problem: string; definedAt?: string }[] = [];
  const seen = new Map<string, TriggerDefinition>();
  for (const trigger of triggers) {
    const fail = (problem: string) =>
      problems.push({ problem: `trigger "${trigger.name}": ${problem}`, definedAt: trigger.definedAt });
    const earlier = seen.get(trigger.name);
    if (earlier) fail(`two triggers are named "${trigger.name}"${earlier.definedAt ? ` (${earlier.definedAt})` : ""}`);
    seen.set(trigger.name, trigger);
    if (trigger.kind === "schedule" && trigger.templates) {
      const sample = tickDates(Date.UTC(2024, 0, 2, 3), "UTC");
      const firstValues = Object.fromEntries(Object.entries(trigger.params ?? {}).map(([k, v]) => [k, v.slice(0, 1)]));
      for (const source of trigger.templates) {
        const ref = sampleRef(source, firstValues, sample);
        if (ref !== undefined && !safeProducer(graph, ref))
          fail(`partition template ${JSON.stringify(source)} (e.g. ${ref}) matches no job's output pattern`);
      }
    }
    if (trigger.kind === "sensor" && trigger.policy === "eager") {
      const owners = new Set(
        trigger.targets.map(
          (target) => graph.jobs.find((job) => job.outputs.some((p) => p.source === target.source))?.label,
        ),
      );
      const unknown = trigger.targets.find(
        (target) => !graph.jobs.some((job) => job.outputs.some((p) => p.source === target.source)),
      );
      if (unknown) fail(`eager: ${JSON.stringify(unknown.source)} is no job's output pattern (nor a job label)`);
      else if (owners.size > 1)
        fail(`eager: its patterns belong to several jobs (${[...owners].join(", ")}): one job per sensor`);
      for (const on of trigger.on) {
        if (!graph.jobs.some((job) => job.outputs.some((p) => intersect(p, on) !== undefined)))
          fail(`on: no job's outputs can match ${JSON.stringify(on.source)}, so it would never wake`);
        for (const target of trigger.targets)
          for (const name of target.paramNames)
            if (!on.paramNames.includes(name) && !(name in trigger.params))
              fail(
                `{${name}} of ${JSON.stringify(target.source)} is not a parameter of ${JSON.stringify(on.source)}: list its values under \`params\``,
              );
      }
      for (const [name, values] of Object.entries(trigger.params)) {
        if (!trigger.targets.some((t) => t.paramNames.includes(name)))
          fail(
            `params.${name} is a parameter of none of its patterns (${trigger.targets.map((t) => t.source).join(", ")})`,
          );
        if (values.length === 0) fail(`params.${name} is an empty list`);
      }
    }
  }
  return problems;
}

function sampleRef(source: string, values: Record<string, readonly string[]>, dates: TickDates): string | undefined {
  const tick: Record<string, string> = { date: dates.date, tick_date: dates.tickDate, tick_hour: dates.tickHour };
  let missing = false;
  const ref = source.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = tick[name] ?? values[name]?.[0];
    if (value === undefined) missing = true;
    return value ?? "x";
  });
  return missing ? undefined : ref;
}

function safeProducer(graph: TriggerGraph, ref: string): boolean {
  try {
    return graph.producerOf(ref) !== undefined;
  } catch {
    return true; // ambiguous: the graph reports that itself
  }
}
