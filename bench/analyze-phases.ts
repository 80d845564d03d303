/**
 * Where databuild's planning time goes on workload W (diagnosis, not part of
 * the timed benchmark). Wraps the graph's lookup and each job's configure
 * with timers, runs analyze() once, then separately times the topological
 * order, the CLI's two output formats, and reports GC pauses.
 *
 *   W_N=100000 node --import tsx bench/analyze-phases.ts
 *
 * "rest of analyze" = analyze - lookup - configure: the planner's own loop
 * (input dedup via Set/Map, ref validation, recordConfigs' per-output
 * checks, task objects) plus orderTasks.
 */
import { PerformanceObserver, performance } from "node:perf_hooks";
import { toJsonString } from "@bufbuild/protobuf";
import { JobGraphSchema } from "../src/gen/databuild_pb.ts";
import { formatJobGraph } from "../src/cli/commands/analyze.ts";
import { toGraph } from "../src/gsl/define-graph.ts";
import { analyze } from "../src/planner/analyze.ts";
import { orderTasks } from "../src/planner/order-tasks.ts";
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

const producerTask = new Map<string, number>();
plan.nodes.forEach((t, i) => t.config!.outputs.forEach((o) => producerTask.set(o.str, i)));
const [, orderMs] = time(() => orderTasks(plan.nodes, producerTask));
const [text, textMs] = time(() => formatJobGraph(plan));
const [json, jsonMs] = time(() => toJsonString(JobGraphSchema, plan, { alwaysEmitImplicit: true }));

const f = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
console.log(`W N=${process.env.W_N ?? 1000}: ${plan.nodes.length} tasks`);
console.log(
  `analyze total        ${f(analyzeMs)}   (GC pauses during it: ${f(analyzeGc).trim()}, ${gcCount} GCs so far)`,
);
console.log(`  lookup             ${f(spent.lookup)}   (pattern index + regex match + WantedPartition per ref)`);
console.log(`  configure          ${f(spent.configure)}   (GSL config functions + toJobConfig proto objects)`);
console.log(
  `  rest of analyze    ${f(analyzeMs - spent.lookup - spent.configure)}   (dedup, validation, recordConfigs, tasks, orderTasks)`,
);
console.log(`orderTasks alone     ${f(orderMs)}   (re-run on the plan, warm)`);
console.log(`CLI text output      ${f(textMs)}   (${(text.length / 1e6).toFixed(1)} MB)`);
console.log(`CLI --json output    ${f(jsonMs)}   (${(json.length / 1e6).toFixed(1)} MB)`);
console.log(`peak RSS             ${(process.resourceUsage().maxRSS / 1024).toFixed(0).padStart(6)} MB`);
