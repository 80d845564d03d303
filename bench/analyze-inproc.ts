/**
 * Times databuild's planner in-process on workload W: loads bench/w-graph.ts
 * (import + toGraph, what the CLI's loader does for a .ts graph), then times
 * only `analyzePlan(graph, every report/m)`: the planning that `analyze`,
 * `build` and the CLI all do, up to the compact Plan (no proto message).
 *
 *   W_N=100000 node --import tsx bench/analyze-inproc.ts [--repeat K] [--check] [--message]
 *
 * Prints one JSON line: {n, tasks, edges, loadMs, analyzeMs: [first, ...],
 * cpuMs: [...], rssMbAfterFirst, messageMs?}. analyzeMs[0] is the cold run
 * (what one CLI call pays); with --repeat K the analysis runs K times in the
 * same process (warm JIT). cpuMs is the process's CPU time (all threads, GC
 * helpers included) during each analysis: less inflated than wall time when
 * other processes compete for the CPUs.
 * rssMbAfterFirst is the process's peak RSS right after the first analysis.
 * --check verifies the plan has 3N+M tasks in an order where every input's
 * producer comes first. --message also times `plan.toJobGraph()` once (the
 * JobGraph message a build's jobGraph event and `analyze()` make).
 */
import { performance } from "node:perf_hooks";
import { toGraph } from "../src/gsl/define-graph.ts";
import { analyzePlan } from "../src/planner/analyze.ts";
import type { Plan } from "../src/planner/plan.ts";

const args = process.argv.slice(2);
const repeatAt = args.indexOf("--repeat");
const repeat = repeatAt === -1 ? 1 : Number(args[repeatAt + 1]);
if (!Number.isSafeInteger(repeat) || repeat < 1) throw new Error("--repeat needs a positive integer");
const check = args.includes("--check");

const t0 = performance.now();
const module = await import("./w-graph.ts");
const graph = toGraph(module.default, { baseDir: import.meta.dirname, file: "bench/w-graph.ts" });
const refs = module.targets();
const loadMs = performance.now() - t0;

const analyzeMs: number[] = [];
const cpuMs: number[] = [];
let rssMbAfterFirst = 0;
let plan: Plan | undefined;
for (let r = 0; r < repeat; r++) {
  plan = undefined; // let the previous plan be collected
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  plan = await analyzePlan(graph, refs);
  analyzeMs.push(performance.now() - start);
  const cpu = process.cpuUsage(cpuStart);
  cpuMs.push((cpu.user + cpu.system) / 1000);
  if (r === 0) rssMbAfterFirst = process.resourceUsage().maxRSS / 1024;
}

const n = Number(process.env.W_N ?? "1000");
const { size: tasks, inputStart, inputIds, outputStart, outputIds } = plan!;
const edges = inputIds.length;
if (check) {
  const expected = 3 * n + Math.ceil(n / 30);
  if (tasks !== expected) throw new Error(`expected ${expected} tasks, got ${tasks}`);
  const done = new Uint8Array(plan!.refs.length);
  for (let t = 0; t < tasks; t++) {
    for (let e = inputStart[t]!; e < inputStart[t + 1]!; e++) {
      const id = inputIds[e]!;
      if (id >= 0 && !done[id])
        throw new Error(`${plan!.outputsOf(t).join(",")} is ordered before its input ${plan!.refs[id]}`);
    }
    for (let e = outputStart[t]!; e < outputStart[t + 1]!; e++) done[outputIds[e]!] = 1;
  }
}
let messageMs: number | undefined;
if (args.includes("--message")) {
  const start = performance.now();
  plan!.toJobGraph();
  messageMs = performance.now() - start;
}
const round = (x: number) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    n,
    tasks,
    edges,
    loadMs: round(loadMs),
    analyzeMs: analyzeMs.map(round),
    cpuMs: cpuMs.map(round),
    rssMbAfterFirst: round(rssMbAfterFirst),
    ...(messageMs === undefined ? {} : { messageMs: round(messageMs) }),
  }),
);
