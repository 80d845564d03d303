/**
 * Where databuild's planning time goes on workload W (diagnosis, not part of
 * the timed benchmark). Wraps the graph's matchOf (the planner's lookup)
 * and each job's configureInto with timers, runs analyzePlan() once, then
 * separately times the CLI's two output formats (written from the compact
 * plan), making the JobGraph message, protobuf-es's reflective JSON of it,
 * and reports GC pauses. It uses only the planner's entry points, the graph
 * model and the CLI's writers, so it keeps working while the planner's
 * internals change.
 *
 *   W_N=100000 node --import tsx bench/analyze-phases.ts [--no-reflect]
 *
 * "rest of analyze" = analyze - lookup - configure: the planner's own loop
 * (contract checks, interning, the plan's arrays) plus ordering.
 * --no-reflect skips protobuf-es's toJsonString (5 s and 0.5 GB at 100k).
 * Profile with `node --cpu-prof` and bench/profile-summary.ts for detail.
 */
import { PerformanceObserver, performance } from "node:perf_hooks";
import { toJsonString } from "@bufbuild/protobuf";
import { JobGraphSchema } from "../src/gen/databuild_pb.ts";
import { writePlanText } from "../src/cli/commands/analyze.ts";
import { toGraph } from "../src/gsl/define-graph.ts";
import { analyzePlan } from "../src/planner/analyze.ts";
import { writePlanJson } from "../src/planner/job-graph-json.ts";
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
const matchOf = graph.matchOf.bind(graph);
(graph as { matchOf: typeof graph.matchOf }).matchOf = (ref) => {
  const t = performance.now();
  try {
    return matchOf(ref);
  } finally {
    spent.lookup += performance.now() - t;
  }
};
for (const job of graph.jobs as JobDefinition[]) {
  const configureInto = job.configureInto!.bind(job);
  (job as { configureInto: JobDefinition["configureInto"] }).configureInto = (wanted, sink, options) => {
    const t = performance.now();
    try {
      return configureInto(wanted, sink, options);
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
const plan = await analyzePlan(graph, refs);
const analyzeMs = performance.now() - t0;
await new Promise((r) => setTimeout(r, 50)); // let GC entries arrive
const analyzeGc = gcMs - gcBefore;

const sink = () => {
  let chars = 0;
  return { write: (chunk: string) => void (chars += chunk.length), chars: () => chars };
};
const text = sink();
const [, textMs] = time(() => writePlanText(plan, text.write));
const json = sink();
const [, jsonMs] = time(() => writePlanJson(plan, json.write));
const [jobGraph, messageMs] = time(() => plan.toJobGraph());
const reflect = process.argv.includes("--no-reflect")
  ? undefined
  : time(() => toJsonString(JobGraphSchema, jobGraph, { alwaysEmitImplicit: true }));

const f = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
console.log(`W N=${process.env.W_N ?? 1000}: ${plan.size} tasks`);
console.log(
  `analyzePlan total    ${f(analyzeMs)}   (GC pauses during it: ${f(analyzeGc).trim()}, ${gcCount} GCs so far)`,
);
console.log(
  `  lookup             ${f(spent.lookup)}   (graph.matchOf per ref: pattern index, match; timer overhead included)`,
);
console.log(
  `  configure          ${f(spent.configure)}   (GSL config functions and params, feeding the planner's sink: interning, contract checks)`,
);
console.log(
  `  rest of analyze    ${f(analyzeMs - spent.lookup - spent.configure)}   (contract checks, interning, order)`,
);
console.log(`CLI text output      ${f(textMs)}   (${(text.chars() / 1e6).toFixed(1)} MB, from the plan)`);
console.log(`CLI --json output    ${f(jsonMs)}   (${(json.chars() / 1e6).toFixed(1)} MB, from the plan)`);
console.log(`JobGraph message     ${f(messageMs)}   (plan.toJobGraph(): what a build's jobGraph event needs)`);
if (reflect) console.log(`protobuf-es JSON     ${f(reflect[1])}   (toJsonString of that message, by reflection)`);
console.log(`peak RSS             ${(process.resourceUsage().maxRSS / 1024).toFixed(0).padStart(6)} MB`);
