/**
 * @module Loads a language-neutral manifest (`databuild.yaml` /
 * `databuild.json`, SPEC 3.3) into the graph model, reporting every problem
 * with the file and line at fault.
 */
import { readFile } from "node:fs/promises";
import { dirname, extname, resolve } from "node:path";
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";
import { AmbiguousPatternError, GraphDefinitionError } from "../core/errors.ts";
import { createGraph, type Graph } from "../core/graph.ts";
import type { JobDefinition } from "../core/job.ts";
import { parseOutputPattern, type OutputPattern } from "../core/output-pattern.ts";
import { parseMemory } from "../core/resources.ts";
import { commandConfigure, commandConfigureInto } from "./command-config.ts";
import type { TriggerDefinition } from "../core/triggers.ts";
import { toTriggerDefinition, type DefinedTrigger } from "../gsl/define-trigger.ts";
import { manifestSchema, type Manifest, type ManifestJob, type ManifestTrigger } from "./manifest-schema.ts";

/** At most this many schema problems are listed in one error. */
const MAX_ISSUES = 10;

/**
 * Reads and validates the manifest at `file` (.yaml, .yml or .json) and
 * returns its graph. Config and exec commands run in the manifest's
 * directory, so relative paths in them resolve against it. Throws
 * GraphDefinitionError (AmbiguousPatternError for overlapping patterns)
 * whose message starts with "<file>:<line>: " when the file is missing,
 * unparsable or invalid.
 */
export async function loadManifestFile(file: string): Promise<Graph> {
  const format = manifestFormat(file);
  const text = await readManifest(file);
  const source = parseSource(text, format, file);
  const manifest = validate(source, file);
  const cwd = dirname(resolve(file));
  const jobs = manifest.jobs.map((job, index) =>
    toJobDefinition(job, cwd, `${file}:${source.lineOf(["jobs", index])}`),
  );
  const triggers = (manifest.triggers ?? []).map((trigger, index) =>
    toTrigger(trigger, jobs, `${file}:${source.lineOf(["triggers", index])}`),
  );
  try {
    return createGraph(manifest.name, jobs, file, triggers);
  } catch (error) {
    if (error instanceof AmbiguousPatternError) throw locateAmbiguity(error, manifest, source, file);
    throw error;
  }
}

function manifestFormat(file: string): "yaml" | "json" {
  const ext = extname(file).toLowerCase();
  if (ext === ".yaml" || ext === ".yml") return "yaml";
  if (ext === ".json") return "json";
  throw new GraphDefinitionError(
    `a manifest must be a .yaml, .yml or .json file, not ${JSON.stringify(ext || "(no extension)")}`,
    file,
  );
}

async function readManifest(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === "ENOENT"
        ? "manifest file not found"
        : code === "EISDIR"
          ? "is a directory, not a manifest file"
          : `cannot read the manifest: ${(error as Error).message}`;
    throw new GraphDefinitionError(problem, file, { cause: error });
  }
}

/** The parsed manifest data plus a way to find the line of any path in it. */
interface ManifestSource {
  readonly data: unknown;
  /** Line (1-based) of the key or item at `path`, or of its nearest existing ancestor. */
  lineOf(path: readonly PropertyKey[], unknownKey?: string): number;
}

function parseSource(text: string, format: "yaml" | "json", file: string): ManifestSource {
  const lineCounter = new LineCounter();
  if (format === "json") {
    // YAML would accept comments and unquoted keys; hold .json files to JSON itself.
    try {
      JSON.parse(text);
    } catch (error) {
      throw new GraphDefinitionError(
        `invalid JSON: ${jsonProblem(error as Error)}`,
        `${file}:${jsonErrorLine(text, error as Error)}`,
        { cause: error },
      );
    }
  }
  // JSON is YAML too, so one parser gives node positions for both formats.
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const line = syntax.linePos?.[0].line ?? 1;
    // The message repeats the position; keep the problem and the source excerpt.
    const message = syntax.message.replace(/ at line \d+, column \d+:/, ":").trimEnd();
    throw new GraphDefinitionError(
      `${format === "json" ? "JSON" : "YAML"} syntax error: ${message}`,
      `${file}:${line}`,
      { cause: syntax },
    );
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    throw new GraphDefinitionError(`cannot read the manifest: ${(error as Error).message}`, file, { cause: error });
  }
  return { data, lineOf: (path, unknownKey) => lineOfPath(doc, lineCounter, path, unknownKey) };
}

function lineOfPath(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  unknownKey?: string,
): number {
  const lineOfOffset = (offset: number) => lineCounter.linePos(offset).line;
  const nodeAt = (p: readonly PropertyKey[]) => (p.length === 0 ? doc.contents : doc.getIn(p, true));
  const keyLine = (map: unknown, key: PropertyKey) => {
    if (!isMap(map)) return undefined;
    const pair = map.items.find((item) => isScalar(item.key) && String(item.key.value) === String(key));
    return isNode(pair?.key) && pair.key.range ? lineOfOffset(pair.key.range[0]) : undefined;
  };
  if (unknownKey !== undefined) {
    const line = keyLine(nodeAt(path), unknownKey);
    if (line !== undefined) return line;
  }
  for (let n = path.length; n > 0; n--) {
    // Point at the key rather than its value: a block list starts on the line below its key.
    const line = keyLine(nodeAt(path.slice(0, n - 1)), path[n - 1]!);
    if (line !== undefined) return line;
    const node = nodeAt(path.slice(0, n));
    if (isNode(node) && node.range) return lineOfOffset(node.range[0]);
  }
  const root = doc.contents;
  return isNode(root) && root.range ? lineOfOffset(root.range[0]) : 1;
}

/** V8's JSON.parse message without its quote of the input (the quote is cut short and unescaped). */
function jsonProblem(error: Error): string {
  return error.message.replace(/, (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, "");
}

/** The line of a JSON.parse error: from V8's "position N" when given, else where YAML's parser stops. */
function jsonErrorLine(text: string, error: Error): number {
  const position = /position (\d+)/.exec(error.message);
  if (position) return lineAt(text, Number(position[1]));
  return parseDocument(text, { prettyErrors: true }).errors[0]?.linePos?.[0].line ?? 1;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function validate(source: ManifestSource, file: string): Manifest {
  const result = manifestSchema.safeParse(source.data, { error: typeMessage });
  if (result.success) return result.data;
  const located = result.error.issues
    .map((issue) => {
      const unknownKey = issue.code === "unrecognized_keys" ? issue.keys[0] : undefined;
      const where = formatPath(issue.path);
      return {
        line: source.lineOf(issue.path, unknownKey),
        text: where ? `${where}: ${issue.message}` : issue.message,
      };
    })
    .sort((a, b) => a.line - b.line);
  const [first, ...rest] = located.slice(0, MAX_ISSUES);
  const more = located.length > MAX_ISSUES ? `\n(${located.length - MAX_ISSUES} more problems not shown)` : "";
  const message = [first!.text, ...rest.map((r) => `${file}:${r.line}: ${r.text}`)].join("\n") + more;
  throw new GraphDefinitionError(message, `${file}:${first!.line}`);
}

/** Type errors in the words of a YAML author ("a list", "a mapping"), and missing keys by name. */
function typeMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== "invalid_type") return undefined;
  if (issue.input === undefined) return "required key is missing";
  const nouns: Record<string, string> = {
    array: "a list",
    object: "a mapping",
    string: "a string",
    number: "a number",
  };
  return `expected ${nouns[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
}

function describeValue(value: unknown): string {
  if (value === null) return "an empty value (null)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `the ${typeof value} ${JSON.stringify(value)}`;
}

/** ["jobs", 1, "outputs"] -> "jobs[1].outputs". */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : `${i === 0 ? "" : "."}${String(part)}`))
    .join("");
}

function toJobDefinition(job: ManifestJob, cwd: string, definedAt: string): JobDefinition {
  return {
    label: job.label,
    // The schema has already parsed each pattern successfully.
    outputs: job.outputs.map((source) => parseOutputPattern(source) as OutputPattern),
    version: job.version,
    timeoutMs: job.timeout_seconds === undefined ? undefined : job.timeout_seconds * 1000,
    configTimeoutMs: job.config_timeout_seconds === undefined ? undefined : job.config_timeout_seconds * 1000,
    configMaxOutputBytes: job.config_max_output_bytes,
    logLimitBytes: job.log_limit_bytes,
    requires: job.requires && { labels: job.requires.labels ?? {}, slots: job.requires.slots ?? 1 },
    resources: job.resources && {
      cpus: job.resources.cpus,
      // The schema has checked it.
      memoryBytes: job.resources.memory === undefined ? undefined : (parseMemory(job.resources.memory) as number),
    },
    configure: commandConfigure(job.label, job.config, cwd),
    configureInto: commandConfigureInto(job.label, job.config, cwd),
    exec: { kind: "command", command: job.exec, cwd },
    definedAt,
  };
}

/** A trigger of the manifest in the TypeScript GSL's terms, converted and checked as those are. */
function toTrigger(trigger: ManifestTrigger, jobs: readonly JobDefinition[], definedAt: string): TriggerDefinition {
  const defined: DefinedTrigger =
    trigger.cron !== undefined
      ? {
          kind: "databuild.trigger",
          type: "schedule",
          spec: {
            name: trigger.name,
            cron: trigger.cron,
            timeZone: trigger.time_zone,
            partitions: trigger.partitions ?? [],
            params: trigger.params,
            catchUp: trigger.catch_up,
          },
        }
      : {
          kind: "databuild.trigger",
          type: "sensor",
          spec: { name: trigger.name, eager: trigger.eager!, on: trigger.on ?? [], params: trigger.params },
        };
  return toTriggerDefinition(defined, jobs, definedAt);
}

/** Re-raises an ambiguity with the line of the second job's overlapping pattern. */
function locateAmbiguity(
  error: AmbiguousPatternError,
  manifest: Manifest,
  source: ManifestSource,
  file: string,
): AmbiguousPatternError {
  const jobIndex = manifest.jobs.findIndex((job) => job.label === error.jobs[1]);
  const patternIndex = jobIndex === -1 ? -1 : manifest.jobs[jobIndex]!.outputs.indexOf(error.patterns[1]);
  const line = source.lineOf(patternIndex === -1 ? ["jobs", jobIndex] : ["jobs", jobIndex, "outputs", patternIndex]);
  return new AmbiguousPatternError(error.jobs, error.patterns, error.example, `${file}:${line}`);
}
