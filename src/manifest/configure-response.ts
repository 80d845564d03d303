/**
 * @module Reading a config command's JobConfigureResponse (proto3 JSON,
 * already parsed by JSON.parse) into a ConfigSink, without reflection.
 * Config programs print the canonical form: objects with the JSON field
 * names, refs as {"str": ...}, dep types by name, no nulls. That form is
 * checked and read by code written for this one schema; anything else (proto
 * field names, enums as numbers, nulls, unknown keys, wrong types) goes to
 * protobuf-es's `fromJson` with `ignoreUnknownFields: false`, which decodes
 * it or says what is wrong. Either way the configs are exactly what
 * `fromJson` gives (configure-response.test.ts checks it on random
 * messages and random mutations of them).
 */
import { fromJson } from "@bufbuild/protobuf";
import { DepType, JobConfigureResponseSchema, type JobConfig } from "../gen/databuild_pb.ts";
import { feedConfigs, type ConfigSink } from "../core/config-sink.ts";

type JsonObject = Record<string, unknown>;

/** A response ready to feed: canonical JSON as parsed, or the configs protobuf-es decoded. */
export type ConfigureResponse =
  { readonly canonical: readonly JsonObject[] } | { readonly decoded: readonly JobConfig[] };

/**
 * Checks `json` (a parsed JobConfigureResponse); throws protobuf-es's error
 * saying what is wrong when it is not one.
 */
export function decodeConfigureResponse(json: unknown): ConfigureResponse {
  if (isCanonicalResponse(json)) return { canonical: (json.configs ?? []) as JsonObject[] };
  return { decoded: fromJson(JobConfigureResponseSchema, json as never, { ignoreUnknownFields: false }).configs };
}

/** Feeds a decoded response's configs to `sink`. */
export function feedConfigureResponse(response: ConfigureResponse, sink: ConfigSink): void {
  if ("decoded" in response) return feedConfigs(response.decoded, sink);
  for (const config of response.canonical) feedCanonicalConfig(config, sink);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A string protobuf-es accepts as it is: no lone surrogates (V8 answers at once for one-byte strings). */
function isText(value: unknown): value is string {
  return typeof value === "string" && (value as WellFormedCheck).isWellFormed();
}

/** String.prototype.isWellFormed (Node 20; TypeScript's ES2023 lib does not declare it). */
type WellFormedCheck = string & { isWellFormed(): boolean };

function isCanonicalResponse(json: unknown): json is { configs?: unknown[] } {
  if (!isObject(json)) return false;
  for (const key in json) if (key !== "configs") return false;
  const configs = json.configs;
  if (configs === undefined) return true;
  if (!Array.isArray(configs)) return false;
  for (const config of configs) if (!isCanonicalConfig(config)) return false;
  return true;
}

function isCanonicalConfig(config: unknown): boolean {
  if (!isObject(config)) return false;
  for (const key in config) {
    const value = config[key];
    switch (key) {
      case "outputs":
        if (!Array.isArray(value)) return false;
        for (const ref of value) if (!isCanonicalRef(ref)) return false;
        break;
      case "inputs":
        if (!Array.isArray(value)) return false;
        for (const dep of value) if (!isCanonicalDep(dep)) return false;
        break;
      case "args":
        if (!Array.isArray(value)) return false;
        for (const arg of value) if (!isText(arg)) return false;
        break;
      case "env":
        if (!isObject(value)) return false;
        for (const name in value) if (name === "__proto__" || !isText(name) || !isText(value[name])) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function isCanonicalRef(ref: unknown): boolean {
  if (!isObject(ref)) return false;
  for (const key in ref) if (key !== "str") return false;
  return ref.str === undefined || isText(ref.str);
}

function isCanonicalDep(dep: unknown): boolean {
  if (!isObject(dep)) return false;
  for (const key in dep) {
    if (key === "depType") {
      if (dep.depType !== "MATERIALIZE" && dep.depType !== "QUERY") return false;
    } else if (key !== "partitionRef") return false;
  }
  return dep.partitionRef === undefined || isCanonicalRef(dep.partitionRef);
}

/** Feeds one config already checked by isCanonicalConfig. */
function feedCanonicalConfig(config: JsonObject, sink: ConfigSink): void {
  sink.config();
  // An omitted field is its default: "" for a ref's str (a message left out reads as all defaults).
  const outputs = config.outputs as readonly { str?: string }[] | undefined;
  if (outputs) for (const ref of outputs) sink.output(ref.str ?? "");
  const inputs = config.inputs as readonly { depType?: string; partitionRef?: { str?: string } }[] | undefined;
  if (inputs)
    for (const dep of inputs)
      sink.input(dep.partitionRef?.str ?? "", dep.depType === "QUERY" ? DepType.QUERY : DepType.MATERIALIZE);
  const args = config.args as readonly string[] | undefined;
  if (args) for (const arg of args) sink.arg(arg);
  const env = config.env as Record<string, string> | undefined;
  if (env) for (const name in env) sink.env(name, env[name]!);
}
