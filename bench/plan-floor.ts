/**
 * Lower bounds for planning workload W on this machine, with no lookup,
 * config call or ordering: the cost of (a) building the plan as protobuf-es
 * Task objects (what analyze returns), (b) building it compactly (refs
 * interned to ids, edges in an Int32Array), and (c) one Map.get on a map of
 * 303k ref strings. See docs/benchmarks.md, "Where the time goes".
 *
 *   W_N=100000 node --import tsx bench/plan-floor.ts
 */
import { dataDep, jobConfig, task } from "../src/core/messages.ts";
import type { DataDep, Task } from "../src/gen/databuild_pb.ts";

const N = Number(process.env.W_N ?? "100000");
const M = Math.ceil(N / 30);

function measure<T>(label: string, fn: () => T): T {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(cpu);
  const ms = (x: number) => x.toFixed(0).padStart(6);
  console.log(
    `${label.padEnd(58)} ${ms(performance.now() - wall)} ms wall ${ms((used.user + used.system) / 1000)} ms cpu`,
  );
  return result;
}

/** W's plan as proto objects, built with the planner's own constructors. */
function protoPlan(): Task[] {
  const tasks: Task[] = [];
  const add = (job: string, out: string, inputs: DataDep[]) =>
    tasks.push(task(job, jobConfig({ outputs: [out], inputs, args: [out] })));
  for (let i = 0; i < N; i++) add("raw", `raw/${i}`, []);
  for (let i = 0; i < N; i++) add("clean", `clean/${i}`, [dataDep(`raw/${i}`)]);
  for (let i = 0; i < N; i++) {
    const inputs: DataDep[] = [];
    for (let j = Math.max(0, i - 6); j <= i; j++) inputs.push(dataDep(`clean/${j}`));
    add("agg", `agg/${i}`, inputs);
  }
  for (let m = 0; m < M; m++) {
    const inputs: DataDep[] = [];
    for (let i = 30 * m; i < Math.min(30 * m + 30, N); i++) inputs.push(dataDep(`agg/${i}`));
    add("report", `report/${m}`, inputs);
  }
  return tasks;
}

/** W's plan compactly: ref strings interned to ids, input ids per task in CSR form. */
function compactPlan(): { refs: string[]; edges: Int32Array; start: number[] } {
  const ids = new Map<string, number>();
  const refs: string[] = [];
  const edges = new Int32Array(3 * N + 7 * N + N);
  const start = [0];
  let e = 0;
  const id = (ref: string) => {
    let k = ids.get(ref);
    if (k === undefined) {
      k = refs.length;
      ids.set(ref, k);
      refs.push(ref);
    }
    return k;
  };
  for (let i = 0; i < N; i++) {
    id(`raw/${i}`);
    start.push(e);
  }
  for (let i = 0; i < N; i++) {
    id(`clean/${i}`);
    edges[e++] = id(`raw/${i}`);
    start.push(e);
  }
  for (let i = 0; i < N; i++) {
    id(`agg/${i}`);
    for (let j = Math.max(0, i - 6); j <= i; j++) edges[e++] = id(`clean/${j}`);
    start.push(e);
  }
  for (let m = 0; m < M; m++) {
    id(`report/${m}`);
    for (let i = 30 * m; i < Math.min(30 * m + 30, N); i++) edges[e++] = id(`agg/${i}`);
    start.push(e);
  }
  return { refs, edges, start };
}

console.log(`W N=${N}: ${3 * N + M} tasks`);
const tasks = measure("(a) plan as proto Task objects (messages.ts constructors)", protoPlan);
const compact = measure("(b) compact plan (interned ids + Int32Array edges)", compactPlan);

const map = new Map<string, number>();
compact.refs.forEach((ref, i) => map.set(ref, i));
const probes: string[] = [];
for (let r = 0; r < 3; r++) for (let i = 0; i < compact.refs.length; i++) probes.push(`clean/${(i * 7919) % N}`);
let found = 0;
const wall = performance.now();
for (const probe of probes) if (map.get(probe) !== undefined) found++;
const perGet = ((performance.now() - wall) * 1e6) / probes.length;
console.log(
  `(c) Map.get on a ${map.size}-entry map of ref strings: ${perGet.toFixed(0)} ns per get (${probes.length} gets, ${found} hits)`,
);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (${tasks.length} tasks kept alive)`);
