/**
 * Where databuild's planning time goes on workload W (diagnosis, not part of
 * the timed benchmark). Wraps the graph's lookup and each job's configure
 * with timers, runs analyze() once, then separately times the CLI's two
 * output formats (and the same JSON built by hand), and reports GC pauses.
 * It uses only analyze(), the graph model and the CLI formatter, so it keeps
 * working while the planner's internals change.
 *
 *   W_N=100000 node --import tsx bench/analyze-phases.ts
 *
 * "rest of analyze" = analyze - lookup - configure: the planner's own loop
 * (config contract checks, input dedup, task objects) plus orderTasks.
 * Profile with `node --cpu-prof` and bench/profile-summary.ts for detail.
 */
import { PerformanceObserver, performance } from "node:perf_hooks";
import { toJsonString } from "@bufbuild/protobuf";
import { DepType, JobGraphSchema } from "../src/gen/databuild_pb.ts";
import { formatJobGraph } from "../src/cli/commands/analyze.ts";
import { toGraph } from "../src/gsl/define-graph.ts";
import { analyze } from "../src/planner/analyze.ts";
import type { JobDefinition } from "../src/core/job.ts";

let gcMs = 0;
let gcCount = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcMs += entry.duration;
    gcCount++;
  }
}).observe({ entryTypes: ["gc"] });

const module = await import("./w-graph.ts");
const graph = toGraph(module.default, { baseDir: import.meta.dirname });
const refs = module.targets();

const spent = { lookup: 0, configure: 0 };
const lookup = graph.lookup.bind(graph);
(graph as { lookup: typeof graph.lookup }).lookup = (r, neededBy) => {
  const t = performance.now();
  try {
    return lookup(r, neededBy);
  } finally {
    spent.lookup += performance.now() - t;
  }
};
for (const job of graph.jobs as JobDefinition[]) {
  const configure = job.configure.bind(job);
  (job as { configure: JobDefinition["configure"] }).configure = (wanted) => {
    const t = performance.now();
    try {
      return configure(wanted);
    } finally {
      spent.configure += performance.now() - t;
    }
  };
}

const time = <T>(fn: () => T): [T, number] => {
  const t = performance.now();
  const result = fn();
  return [result, performance.now() - t];
};

const gcBefore = gcMs;
const t0 = performance.now();
const plan = await analyze(graph, refs);
const analyzeMs = performance.now() - t0;
await new Promise((r) => setTimeout(r, 50)); // let GC entries arrive
const analyzeGc = gcMs - gcBefore;

const [text, textMs] = time(() => formatJobGraph(plan));
const [json, jsonMs] = time(() => toJsonString(JobGraphSchema, plan, { alwaysEmitImplicit: true }));
// The same JSON built by hand (plain objects + JSON.stringify): what a schema-specific writer could cost.
const [plain, plainMs] = time(() =>
  JSON.stringify({
    label: plan.label,
    outputs: plan.outputs.map((o) => ({ str: o.str })),
    nodes: plan.nodes.map((t) => ({
      job: { label: t.job!.label },
      config: {
        outputs: t.config!.outputs.map((o) => ({ str: o.str })),
        inputs: t.config!.inputs.map((i) => ({
          depType: DepType[i.depType],
          partitionRef: { str: i.partitionRef!.str },
        })),
        args: t.config!.args,
        env: t.config!.env,
      },
    })),
  }),
);

const f = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
console.log(`W N=${process.env.W_N ?? 1000}: ${plan.nodes.length} tasks`);
console.log(
  `analyze total        ${f(analyzeMs)}   (GC pauses during it: ${f(analyzeGc).trim()}, ${gcCount} GCs so far)`,
);
console.log(`  lookup             ${f(spent.lookup)}   (pattern index + regex match + WantedPartition per ref)`);
console.log(`  configure          ${f(spent.configure)}   (GSL config functions + toJobConfig proto objects)`);
console.log(
  `  rest of analyze    ${f(analyzeMs - spent.lookup - spent.configure)}   (contract checks, dedup, tasks, orderTasks)`,
);
console.log(`CLI text output      ${f(textMs)}   (${(text.length / 1e6).toFixed(1)} MB)`);
console.log(`CLI --json output    ${f(jsonMs)}   (${(json.length / 1e6).toFixed(1)} MB)`);
console.log(
  `same JSON by hand    ${f(plainMs)}   (${(plain.length / 1e6).toFixed(1)} MB, plain objects + JSON.stringify)`,
);
console.log(`peak RSS             ${(process.resourceUsage().maxRSS / 1024).toFixed(0).padStart(6)} MB`);
