// The JobConfigureResponse reader against protobuf-es's fromJson, on random
// messages printed in every JSON form protobuf-es writes, and on random
// mutations of them (nulls, unknown keys, wrong types, proto field names):
// what reaches the planner is exactly what fromJson decodes, or both fail.
import { fromJson, fromJsonString, toJsonString, type JsonValue } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DepType, JobConfigureResponseSchema, type JobConfigureResponse } from "../gen/databuild_pb.ts";
import { feedConfigs, type ConfigSink } from "../core/config-sink.ts";
import { decodeConfigureResponse, feedConfigureResponse } from "./configure-response.ts";

/** The calls a sink receives, in order. */
function recorded(feed: (sink: ConfigSink) => void): unknown[][] {
  const calls: unknown[][] = [];
  feed({
    config: () => calls.push(["config"]),
    output: (ref) => calls.push(["output", ref]),
    wantedOutput: (k) => calls.push(["wantedOutput", k]),
    input: (ref, depType) => calls.push(["input", ref, depType]),
    arg: (value) => calls.push(["arg", value]),
    env: (name, value) => calls.push(["env", name, value]),
  });
  return calls;
}

type Outcome = { calls: unknown[][] } | { error: true };

/** What protobuf-es decodes, as the calls feedConfigs makes of it. */
function viaProtobufEs(json: unknown): Outcome {
  try {
    const { configs } = fromJson(JobConfigureResponseSchema, json as JsonValue, { ignoreUnknownFields: false });
    return { calls: recorded((sink) => feedConfigs(configs, sink)) };
  } catch {
    return { error: true };
  }
}

function viaReader(json: unknown): Outcome {
  try {
    const response = decodeConfigureResponse(json);
    return { calls: recorded((sink) => feedConfigureResponse(response, sink)) };
  } catch {
    return { error: true };
  }
}

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom("", "__proto__", "raw/date=2024-05-01", 'a"b\\c', "1"),
);
const ref = text.map((str) => ({ $typeName: "databuild.v1.PartitionRef" as const, str }));
const response: fc.Arbitrary<JobConfigureResponse> = fc
  .array(
    fc.record({
      outputs: fc.array(ref, { maxLength: 3 }),
      inputs: fc.array(
        fc
          .record(
            {
              depType: fc.oneof(fc.constantFrom(DepType.MATERIALIZE, DepType.QUERY), fc.integer({ min: 0, max: 4 })),
              partitionRef: ref,
            },
            { requiredKeys: ["depType"] },
          )
          .map((d) => ({
            $typeName: "databuild.v1.DataDep" as const,
            depType: d.depType,
            partitionRef: d.partitionRef,
          })),
        { maxLength: 4 },
      ),
      args: fc.array(text, { maxLength: 3 }),
      env: fc.dictionary(text, text, { maxKeys: 3 }).map((record) => ({ ...record })),
    }),
    { maxLength: 5 },
  )
  .map((configs) => ({
    $typeName: "databuild.v1.JobConfigureResponse",
    configs: configs.map((c) => ({ $typeName: "databuild.v1.JobConfig" as const, ...c })),
  }));

/** The JSON forms protobuf-es writes (and config programs print). */
const printed = fc
  .tuple(
    response,
    fc.record({ alwaysEmitImplicit: fc.boolean(), useProtoFieldName: fc.boolean(), enumAsInteger: fc.boolean() }),
  )
  .map(([message, options]) => {
    try {
      return toJsonString(JobConfigureResponseSchema, message, options);
    } catch {
      return undefined; // a lone surrogate cannot be written; fromJson would refuse it too
    }
  })
  .filter((json): json is string => json !== undefined);

/** A random change anywhere in a parsed JSON value. */
function mutate(json: unknown, pick: (n: number) => number, replacement: unknown): unknown {
  if (Array.isArray(json)) {
    if (json.length === 0 || pick(4) === 0) return [...json, replacement];
    const i = pick(json.length);
    return json.map((item, k) => (k === i ? mutate(item, pick, replacement) : item));
  }
  if (typeof json === "object" && json !== null) {
    const entries = Object.entries(json);
    const choice = pick(8); // half the time, go deeper
    if (entries.length === 0 || choice === 0)
      return { ...json, [["unknown", "str", "dep_type", "partition_ref", "configs"][pick(5)]!]: replacement };
    const i = pick(entries.length);
    const [key, value] = entries[i]!;
    if (choice === 1) return { ...json, [key]: replacement };
    if (choice === 2) return Object.fromEntries(entries.filter((_, k) => k !== i));
    if (choice === 3) {
      const renamed = { depType: "dep_type", partitionRef: "partition_ref" }[key] ?? key;
      return Object.fromEntries(entries.map(([k, v], n) => (n === i ? [renamed, v] : [k, v])));
    }
    return { ...json, [key]: mutate(value, pick, replacement) };
  }
  return replacement;
}

const jsonValue = fc.oneof(
  fc.constantFrom(null, 0, 1, 7, -1, 1.5, true, "", "QUERY", "MATERIALIZE", "x", [], {}, { str: "a" }, [{ str: "a" }]),
  fc.string({ unit: "binary" }),
);

describe("reading a JobConfigureResponse", () => {
  it("feeds exactly what protobuf-es decodes, for every JSON form protobuf-es prints", () => {
    fc.assert(
      fc.property(printed, (json) => {
        const parsed: unknown = JSON.parse(json);
        const expected = viaProtobufEs(parsed);
        expect(viaReader(parsed)).toEqual(expected);
        // fromJsonString (which also rejects duplicate keys, that printed JSON never has) agrees.
        expect("calls" in expected).toBe(
          (() => {
            try {
              return fromJsonString(JobConfigureResponseSchema, json) !== undefined;
            } catch {
              return false;
            }
          })(),
        );
      }),
      { numRuns: 1500 },
    );
  });

  it("feeds what protobuf-es decodes, or fails where it fails, on random mutations", () => {
    fc.assert(
      fc.property(
        printed,
        fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
        jsonValue,
        (json, choices, replacement) => {
          let next = 0;
          const pick = (n: number) => choices[next++ % choices.length]! % n;
          const mutated = mutate(JSON.parse(json), pick, replacement);
          expect(viaReader(mutated)).toEqual(viaProtobufEs(mutated));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("reads the canonical form itself, without protobuf-es", () => {
    const json = JSON.parse(
      '{"configs": [{"outputs": [{"str": "out/1"}], "inputs": [{"partitionRef": {"str": "raw/1"}}, ' +
        '{"depType": "QUERY", "partitionRef": {"str": "dim/1"}}], "args": ["--n", "1"], "env": {"MODE": "x"}}]}',
    );
    const response = decodeConfigureResponse(json);
    expect("canonical" in response).toBe(true);
    expect(recorded((sink) => feedConfigureResponse(response, sink))).toEqual([
      ["config"],
      ["output", "out/1"],
      ["input", "raw/1", DepType.MATERIALIZE],
      ["input", "dim/1", DepType.QUERY],
      ["arg", "--n"],
      ["arg", "1"],
      ["env", "MODE", "x"],
    ]);
  });

  it("leaves other forms to protobuf-es, which names what is wrong", () => {
    expect(
      "decoded" in decodeConfigureResponse({ configs: [{ inputs: [{ dep_type: 1, partitionRef: { str: "a" } }] }] }),
    ).toBe(true);
    expect(() => decodeConfigureResponse({ configs: [{ outputs: [{ str: "a" }], inptus: [] }] })).toThrow(/inptus/);
    expect(() => decodeConfigureResponse({ configs: [{ outputs: "a" }] })).toThrow(/outputs/);
  });
});
