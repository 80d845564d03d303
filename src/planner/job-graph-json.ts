/**
 * @module The JobGraph's proto3 JSON, written by code specific to its schema
 * instead of protobuf-es's reflection (which took 5 s for W's 90 MB at
 * N = 100,000). The output is exactly `toJsonString(JobGraphSchema, graph,
 * { alwaysEmitImplicit: true })`, byte for byte (job-graph-json.test.ts
 * checks it on random messages): fields in field-number order, JSON names,
 * every implicit field (empty strings, lists and maps, the zero enum),
 * messages only when set, an enum by name or, when unknown, by number, and
 * strings escaped by JSON.stringify. It is written in chunks, so a plan of
 * any size streams out without one huge string (V8's limit is 2^29 chars).
 */
import type { DataDep, JobConfig, JobGraph, PartitionRef, Task } from "../gen/databuild_pb.ts";
import type { PlanArrays } from "./plan.ts";

/** Receives the JSON in order, a chunk at a time. */
export type WriteChunk = (chunk: string) => void;

const CHUNK_CHARS = 1 << 18;

/** What JSON.stringify escapes in a string: quote, backslash, control characters and lone surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `value` as a JSON string, as JSON.stringify writes it. */
export function jsonString(value: string): string {
  if (typeof value !== "string") throw new TypeError(`cannot encode ${String(value)} to JSON: expected a string`);
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}

const DEP_TYPE_NAMES = ["MATERIALIZE", "QUERY"];

function depTypeJson(depType: number): string {
  if (typeof depType !== "number") throw new TypeError(`cannot encode DepType to JSON: expected a number`);
  const name = DEP_TYPE_NAMES[depType];
  return name === undefined ? JSON.stringify(depType) : `"${name}"`;
}

/** A map<string, string> as JSON, keys in the object's own order. */
function envJson(env: Readonly<Record<string, string>>): string {
  let json = "{";
  let first = true;
  for (const key of Object.keys(env)) {
    // protobuf-es builds the JSON object by assignment, and assigning "__proto__" sets no property.
    if (key === "__proto__") continue;
    json += `${first ? "" : ","}${jsonString(key)}:${jsonString(env[key]!)}`;
    first = false;
  }
  return json + "}";
}

function refJson(ref: PartitionRef): string {
  return `{"str":${jsonString(ref.str)}}`;
}

function depJson(dep: DataDep): string {
  const ref = dep.partitionRef === undefined ? "" : `,"partitionRef":${refJson(dep.partitionRef)}`;
  return `{"depType":${depTypeJson(dep.depType)}${ref}}`;
}

function configJson(config: JobConfig): string {
  return (
    `{"outputs":[${config.outputs.map(refJson).join(",")}],` +
    `"inputs":[${config.inputs.map(depJson).join(",")}],` +
    `"args":[${config.args.map(jsonString).join(",")}],` +
    `"env":${envJson(config.env)}}`
  );
}

function taskJson(task: Task): string {
  const parts: string[] = [];
  if (task.job !== undefined) parts.push(`"job":{"label":${jsonString(task.job.label)}}`);
  if (task.config !== undefined) parts.push(`"config":${configJson(task.config)}`);
  return `{${parts.join(",")}}`;
}

/** Streams `jobGraph` (a message) as JSON. */
export function writeJobGraphJson(jobGraph: JobGraph, write: WriteChunk): void {
  const out = new ChunkWriter(write);
  out.add(`{"label":${jsonString(jobGraph.label)},"outputs":[${jobGraph.outputs.map(refJson).join(",")}],"nodes":[`);
  jobGraph.nodes.forEach((task, i) => out.add((i === 0 ? "" : ",") + taskJson(task)));
  out.add("]}");
  out.flush();
}

/** `jobGraph` as one JSON string (small graphs; `writeJobGraphJson` streams). */
export function jobGraphJson(jobGraph: JobGraph): string {
  const chunks: string[] = [];
  writeJobGraphJson(jobGraph, (chunk) => chunks.push(chunk));
  return chunks.join("");
}

/** Streams a plan as the JSON of its JobGraph, from its arrays: no message is made. */
export function writePlanJson(
  plan: PlanArrays & { readonly label: string; readonly requested: readonly string[] },
  write: WriteChunk,
): void {
  const { refs, taskJob, outputStart, outputIds, inputStart, inputIds, argStart, args, envs } = plan;
  const out = new ChunkWriter(write);
  const quoted = (id: number) => jsonString(refs[id]!);
  const taskStart = plan.jobs.map((label) => `{"job":{"label":${jsonString(label)}},"config":{"outputs":[`);
  out.add(
    `{"label":${jsonString(plan.label)},"outputs":[${plan.requested.map((ref) => `{"str":${jsonString(ref)}}`).join(",")}],"nodes":[`,
  );
  for (let t = 0; t < taskJob.length; t++) {
    let json = t === 0 ? taskStart[taskJob[t]!]! : "," + taskStart[taskJob[t]!]!;
    for (let e = outputStart[t]!, end = outputStart[t + 1]!; e < end; e++)
      json += (e === outputStart[t] ? '{"str":' : ',{"str":') + quoted(outputIds[e]!) + "}";
    json += '],"inputs":[';
    for (let e = inputStart[t]!, end = inputStart[t + 1]!; e < end; e++) {
      const id = inputIds[e]!;
      json +=
        (e === inputStart[t] ? "" : ",") + (id < 0 ? QUERY_INPUT + quoted(~id) : MATERIALIZE_INPUT + quoted(id)) + "}}";
    }
    json += '],"args":[';
    for (let e = argStart[t]!, end = argStart[t + 1]!; e < end; e++)
      json += (e === argStart[t] ? "" : ",") + jsonString(args[e]!);
    const env = envs.size > 0 ? envs.get(t) : undefined;
    json += `],"env":${env ? envJson(env) : "{}"}}}`;
    out.add(json);
  }
  out.add("]}");
  out.flush();
}

const MATERIALIZE_INPUT = '{"depType":"MATERIALIZE","partitionRef":{"str":';
const QUERY_INPUT = '{"depType":"QUERY","partitionRef":{"str":';

/** Gathers small strings and hands them on in chunks of about CHUNK_CHARS. */
export class ChunkWriter {
  private buffer = "";

  constructor(private readonly write: WriteChunk) {}

  add(text: string): void {
    this.buffer += text;
    if (this.buffer.length >= CHUNK_CHARS) this.flush();
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    this.write(this.buffer);
    this.buffer = "";
  }
}
