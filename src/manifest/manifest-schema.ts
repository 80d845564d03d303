/**
 * @module The schema of a language-neutral manifest (`databuild.yaml` /
 * `databuild.json`, SPEC 3.3), documented in docs/manifest.md.
 */
import { z } from "zod";
import { parseOutputPattern } from "../core/output-pattern.ts";
import { parseMemory } from "../core/resources.ts";
import { parseVersion } from "../core/version.ts";
import { templateProblem, triggerNameProblem } from "../core/triggers.ts";
import { compileCron, timeZoneProblem } from "../gsl/cron.ts";

const MANIFEST_KEYS = ["name", "jobs", "triggers"] as const;
const TRIGGER_KEYS = ["name", "cron", "time_zone", "partitions", "params", "catch_up", "eager", "on"] as const;
const JOB_KEYS = [
  "label",
  "outputs",
  "config",
  "exec",
  "version",
  "timeout_seconds",
  "config_timeout_seconds",
  "config_max_output_bytes",
  "log_limit_bytes",
  "requires",
  "resources",
] as const;

/** What a worker must offer to run the job (--launcher worker). */
const requiresSchema = z.strictObject({
  labels: z
    .record(
      z.string().min(1, "a label name is empty"),
      z.string({ error: "label values must be strings (quote them)" }),
    )
    .optional(),
  slots: z
    .number()
    .int("requires.slots must be a whole number")
    .positive("requires.slots must be at least 1")
    .optional(),
});

/** What a run is given where a launcher allocates it (--launcher slurm). */
const resourcesSchema = z.strictObject({
  cpus: z
    .number()
    .int("resources.cpus must be a whole number")
    .positive("resources.cpus must be at least 1")
    .optional(),
  memory: z
    .union([z.string(), z.number()], { error: 'resources.memory must be a size such as "4GiB" or a number of bytes' })
    .superRefine((value, ctx) => {
      const parsed = parseMemory(value);
      if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: `resources.${parsed}` });
    })
    .optional(),
});

/** A command: argv, a non-empty list of strings run without a shell. */
const argv = (what: string) =>
  z
    .array(z.string(), {
      error: (issue) =>
        typeof issue.input === "string"
          ? `${what} must be a list of arguments, not a string: write ${JSON.stringify(issue.input.split(/\s+/).filter(Boolean))} ` +
            `(no shell is involved, so each argument is its own list item)`
          : undefined,
    })
    .min(1, `${what} must name a program: the list is empty`)
    .refine((args) => args[0] !== "", `${what}: the program name (first item) is empty`);

const outputPattern = z.string().superRefine((source, ctx) => {
  const parsed = parseOutputPattern(source);
  if (typeof parsed === "string")
    ctx.addIssue({ code: "custom", message: `output pattern ${JSON.stringify(source)}: ${parsed}` });
});

const jobSchema = z.strictObject(
  {
    label: z.string().min(1, "the job label is empty"),
    outputs: z.array(outputPattern).min(1, "a job must list at least one output pattern"),
    config: argv("config"),
    exec: argv("exec"),
    version: z
      .string({
        error: (issue) => (issue.input !== undefined ? 'version must be a quoted string such as "1.2.0"' : undefined),
      })
      .refine((v) => parseVersion(v) !== undefined, {
        error: (issue) => `version ${JSON.stringify(issue.input)} is not semver (MAJOR.MINOR.PATCH, e.g. "1.2.0")`,
      })
      .default("0.0.0"),
    timeout_seconds: z.number().positive("timeout_seconds must be a positive number of seconds").optional(),
    config_timeout_seconds: z
      .number()
      .positive("config_timeout_seconds must be a positive number of seconds")
      .max(86_400, "config_timeout_seconds must be at most 86400 (a day)")
      .optional(),
    config_max_output_bytes: z
      .number()
      .int("config_max_output_bytes must be a whole number of bytes")
      .positive("config_max_output_bytes must be a positive number of bytes")
      .optional(),
    log_limit_bytes: z
      .number()
      .int("log_limit_bytes must be a whole number of bytes")
      .positive("log_limit_bytes must be a positive number of bytes")
      .optional(),
    requires: requiresSchema.optional(),
    resources: resourcesSchema.optional(),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? unknownKeys(issue.keys, JOB_KEYS) : undefined) },
);

/** `params:` of a trigger: a parameter name → the values it takes. */
const paramLists = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a parameter name must be an identifier"),
  z
    .array(
      z
        .string({ error: "parameter values must be strings (quote them)" })
        .min(1, "a parameter value is empty")
        .regex(/^[^\s/]+$/, 'parameter values may hold neither "/" nor whitespace'),
    )
    .min(1, "a parameter needs at least one value"),
);

/**
 * A trigger (SPEC 3.8): a schedule (`cron`, and `partitions` templates) or
 * an eager sensor (`eager`, `on`). Checked against the jobs when the graph
 * is built (templates no job produces, unknown eager targets).
 */
const triggerSchema = z
  .strictObject(
    {
      name: z.string().superRefine((name, ctx) => {
        const problem = triggerNameProblem(name);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
      cron: z.string().optional(),
      time_zone: z.string().optional(),
      partitions: z.array(outputPattern).min(1, "a schedule must list at least one partition template").optional(),
      params: paramLists.optional(),
      catch_up: z
        .number()
        .int("catch_up must be a whole number of ticks")
        .min(0, "catch_up must be 0 or more")
        .optional(),
      eager: z.string().min(1, "eager names a job's output pattern or label").optional(),
      on: z.array(outputPattern).min(1, "on must list at least one pattern").optional(),
    },
    { error: (issue) => (issue.code === "unrecognized_keys" ? unknownKeys(issue.keys, TRIGGER_KEYS) : undefined) },
  )
  .superRefine((trigger, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path, message });
    const isSchedule = trigger.cron !== undefined;
    const isSensor = trigger.eager !== undefined;
    if (isSchedule && isSensor) return issue(["eager"], "a trigger is a schedule (cron) or a sensor (eager), not both");
    if (!isSchedule && !isSensor)
      return issue(
        [],
        "a trigger needs `cron` (a schedule) or `eager` (a sensor); function sensors need the TypeScript GSL",
      );
    const misplaced = (isSchedule ? ["on"] : ["time_zone", "partitions", "catch_up"]) as (keyof typeof trigger)[];
    for (const key of misplaced)
      if (trigger[key] !== undefined) issue([key], `${key} belongs to a ${isSchedule ? "sensor" : "schedule"}`);
    if (isSensor) {
      if (trigger.on === undefined) issue([], "an eager sensor needs `on`: the patterns whose new partitions wake it");
      return;
    }
    const zone = trigger.time_zone ?? "UTC";
    const zoneProblem = timeZoneProblem(zone);
    if (zoneProblem) issue(["time_zone"], zoneProblem);
    else {
      const cron = compileCron(trigger.cron, zone);
      if (typeof cron === "string") issue(["cron"], cron);
    }
    if (trigger.partitions === undefined)
      return issue([], "a schedule needs `partitions`: the templates of the partitions each tick requests");
    const templates = trigger.partitions.map((source) => parseOutputPattern(source));
    if (templates.some((t) => typeof t === "string")) return;
    const problem = templateProblem(templates as Exclude<(typeof templates)[number], string>[], trigger.params ?? {});
    if (problem) issue([trigger.params ? "params" : "partitions"], problem);
  });

/** The whole manifest. Labels must be unique; patterns are checked for ambiguity when the graph is built. */
export const manifestSchema = z.strictObject(
  {
    name: z.string().min(1, "the graph name is empty"),
    jobs: z
      .array(jobSchema)
      .min(1, "the manifest must list at least one job")
      .superRefine((jobs, ctx) => {
        const first = new Map<string, number>();
        jobs.forEach((job, index) => {
          const earlier = first.get(job.label);
          if (earlier === undefined) first.set(job.label, index);
          else
            ctx.addIssue({
              code: "custom",
              path: [index, "label"],
              message: `duplicate label "${job.label}": jobs[${earlier}] already uses it`,
            });
        });
      }),
    triggers: z
      .array(triggerSchema)
      .superRefine((triggers, ctx) => {
        const first = new Map<string, number>();
        triggers.forEach((trigger, index) => {
          const earlier = first.get(trigger.name);
          if (earlier === undefined) first.set(trigger.name, index);
          else
            ctx.addIssue({
              code: "custom",
              path: [index, "name"],
              message: `duplicate trigger name "${trigger.name}": triggers[${earlier}] already uses it`,
            });
        });
      })
      .optional(),
  },
  {
    error: (issue) => {
      if (issue.code === "unrecognized_keys") return unknownKeys(issue.keys, MANIFEST_KEYS);
      // Nested schemas report their own type errors, so this one is about the document itself.
      if (issue.code === "invalid_type") return "the manifest must be a mapping with the keys `name` and `jobs`";
      return undefined;
    },
  },
);

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestJob = Manifest["jobs"][number];
export type ManifestTrigger = NonNullable<Manifest["triggers"]>[number];

function unknownKeys(keys: readonly string[], allowed: readonly string[]): string {
  const described = keys.map((key) => {
    const near = allowed.find(
      (a) => editDistance(key.toLowerCase(), a) <= 2 || (key.length >= 3 && a.startsWith(key.toLowerCase())),
    );
    return JSON.stringify(key) + (near ? ` (did you mean "${near}"?)` : "");
  });
  return `unknown key${keys.length > 1 ? "s" : ""} ${described.join(", ")}; allowed keys: ${allowed.join(", ")}`;
}

/** Levenshtein distance, for "did you mean" hints on short key names. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
