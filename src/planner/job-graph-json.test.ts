// The schema-specific JobGraph JSON writers against protobuf-es's reflective
// toJsonString, on random messages (fast-check): the same bytes, from a
// message and from a compact plan.
import { equals, toJsonString } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DepType,
  JobGraphSchema,
  type DataDep,
  type JobConfig,
  type JobGraph,
  type Task,
} from "../gen/databuild_pb.ts";
import { defineJob as job, query } from "../gsl/define-job.ts";
import { gslGraph, noop } from "../testing/gsl-graph.ts";
import { analyze, analyzePlan } from "./analyze.ts";
import { jobGraphJson, jsonString, writeJobGraphJson, writePlanJson } from "./job-graph-json.ts";
import { Plan } from "./plan.ts";

const canonical = (graph: JobGraph) => toJsonString(JobGraphSchema, graph, { alwaysEmitImplicit: true });

/** Strings of every kind: ASCII, any code unit (lone surrogates too), and the ones that need care. */
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("", "__proto__", 'a"b\\c', "\u2028\u2029", "\u0000\u001f\u007f", "1", "0", "42", "-1"),
);
const ref = text.map((str) => ({ $typeName: "databuild.v1.PartitionRef" as const, str }));
const depType = fc.oneof(fc.constantFrom(DepType.MATERIALIZE, DepType.QUERY), fc.integer({ min: -3, max: 9 }));
const dataDep: fc.Arbitrary<DataDep> = fc
  .record({ depType, partitionRef: ref }, { requiredKeys: ["depType"] })
  .map((d) => ({ $typeName: "databuild.v1.DataDep", depType: d.depType, partitionRef: d.partitionRef }));
/** A map<string, string> as protobuf-es holds it: a plain object, keys in insertion order (integer-like first). */
const env = fc.array(fc.tuple(text, text), { maxLength: 4 }).map((entries) => {
  const record: Record<string, string> = {};
  for (const [k, v] of entries) Object.defineProperty(record, k, { value: v, enumerable: true, writable: true });
  return record;
});
const jobConfig: fc.Arbitrary<JobConfig> = fc
  .record({
    outputs: fc.array(ref, { maxLength: 3 }),
    inputs: fc.array(dataDep, { maxLength: 4 }),
    args: fc.array(text, { maxLength: 3 }),
    env,
  })
  .map((c) => ({ $typeName: "databuild.v1.JobConfig", ...c }));
const task: fc.Arbitrary<Task> = fc
  .record(
    { job: text.map((label) => ({ $typeName: "databuild.v1.JobLabel" as const, label })), config: jobConfig },
    {
      requiredKeys: [],
    },
  )
  .map((t) => ({ $typeName: "databuild.v1.Task", job: t.job, config: t.config }));
const jobGraph: fc.Arbitrary<JobGraph> = fc
  .record({ label: text, outputs: fc.array(ref, { maxLength: 3 }), nodes: fc.array(task, { maxLength: 6 }) })
  .map((g) => ({ $typeName: "databuild.v1.JobGraph", ...g }));

/** A JobGraph whose every task has a job and a config, and every input a ref and a known dep type: what a Plan holds. */
const planShaped: fc.Arbitrary<JobGraph> = jobGraph.map((g) => ({
  ...g,
  nodes: g.nodes.map((t) => ({
    ...t,
    job: t.job ?? { $typeName: "databuild.v1.JobLabel", label: "j" },
    config: {
      ...(t.config ?? { $typeName: "databuild.v1.JobConfig", outputs: [], inputs: [], args: [], env: {} }),
      inputs: (t.config?.inputs ?? []).map((d) => ({
        ...d,
        depType: d.depType === DepType.QUERY ? DepType.QUERY : DepType.MATERIALIZE,
        partitionRef: d.partitionRef ?? { $typeName: "databuild.v1.PartitionRef", str: "" },
      })),
    },
  })),
}));

/** The compact form of `graph` (refs interned, CSR arrays), as the planner builds it. */
function planOf(graph: JobGraph): Plan {
  const refs: string[] = [];
  const ids = new Map<string, number>();
  const id = (str: string) => {
    let i = ids.get(str);
    if (i === undefined) ids.set(str, (i = refs.push(str) - 1));
    return i;
  };
  const jobs: string[] = [];
  const outputStart = [0];
  const inputStart = [0];
  const argStart = [0];
  const outputIds: number[] = [];
  const inputIds: number[] = [];
  const args: string[] = [];
  const envs = new Map<number, Record<string, string>>();
  const taskJob = graph.nodes.map((t, i) => {
    const config = t.config!;
    for (const o of config.outputs) outputIds.push(id(o.str));
    for (const d of config.inputs)
      inputIds.push(d.depType === DepType.QUERY ? ~id(d.partitionRef!.str) : id(d.partitionRef!.str));
    args.push(...config.args);
    if (Object.keys(config.env).length > 0) envs.set(i, config.env);
    outputStart.push(outputIds.length);
    inputStart.push(inputIds.length);
    argStart.push(args.length);
    const label = t.job!.label;
    return jobs.includes(label) ? jobs.indexOf(label) : jobs.push(label) - 1;
  });
  return new Plan(
    graph.label,
    graph.outputs.map((o) => o.str),
    {
      jobs,
      refs,
      taskJob: Int32Array.from(taskJob),
      outputStart: Int32Array.from(outputStart),
      outputIds: Int32Array.from(outputIds),
      inputStart: Int32Array.from(inputStart),
      inputIds: Int32Array.from(inputIds),
      argStart: Int32Array.from(argStart),
      args,
      envs,
    },
  );
}

describe("jsonString", () => {
  it("escapes every string as JSON.stringify does", () => {
    fc.assert(
      fc.property(text, (s) => jsonString(s) === JSON.stringify(s)),
      { numRuns: 2000 },
    );
  });
});

describe("the JobGraph JSON writer", () => {
  it("writes exactly protobuf-es's canonical JSON (alwaysEmitImplicit) for random messages", () => {
    fc.assert(
      fc.property(jobGraph, (graph) => {
        expect(jobGraphJson(graph)).toBe(canonical(graph));
      }),
      { numRuns: 1000 },
    );
  });

  it("writes the same JSON from a compact plan, and the plan gives the message back", () => {
    fc.assert(
      fc.property(planShaped, (graph) => {
        const plan = planOf(graph);
        const chunks: string[] = [];
        writePlanJson(plan, (chunk) => chunks.push(chunk));
        expect(chunks.join("")).toBe(canonical(graph));
        expect(equals(JobGraphSchema, plan.toJobGraph(), graph)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("streams a large graph in chunks that join to the canonical JSON", () => {
    const nodes = Array.from({ length: 20_000 }, (_, i): Task => ({
      $typeName: "databuild.v1.Task",
      job: { $typeName: "databuild.v1.JobLabel", label: "j" },
      config: {
        $typeName: "databuild.v1.JobConfig",
        outputs: [{ $typeName: "databuild.v1.PartitionRef", str: `out/${i}` }],
        inputs: [],
        args: [`--n=${i}`],
        env: {},
      },
    }));
    const graph: JobGraph = { $typeName: "databuild.v1.JobGraph", label: "big", outputs: [], nodes };
    const chunks: string[] = [];
    writeJobGraphJson(graph, (chunk) => chunks.push(chunk));
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join("")).toBe(canonical(graph));
  });

  it("writes an analyzed plan (QUERY inputs, env, batched outputs) as the JobGraph analyze returns", async () => {
    const graph = gslGraph([
      job({ label: "raw", outputs: ["raw/{d}"], exec: noop }),
      job({
        label: "day",
        outputs: ["day/{d}"],
        config: ({ d }) => ({
          inputs: [`raw/${d}`, query(`day/${Number(d) - 1}`)],
          args: [d],
          env: { D: d, "1": "x" },
        }),
        exec: noop,
      }),
      job({
        label: "all",
        outputs: ["all/{k}"],
        configBatch: (wanted) => [{ outputs: wanted.map((w) => w.ref), inputs: ["day/1", "day/2", "day/3"] }],
        exec: noop,
      }),
    ]);
    const refs = ["all/a", "all/b"];
    const chunks: string[] = [];
    writePlanJson(await analyzePlan(graph, refs), (chunk) => chunks.push(chunk));
    expect(chunks.join("")).toBe(canonical(await analyze(graph, refs)));
  });
});
