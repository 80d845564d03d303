/**
 * Diagnosis of a no-op build (docs/benchmarks.md, "No-op build and planning"):
 * times, in one process and in order, what `databuild build` does before it
 * finds nothing to do: loading the graph, opening the log, loading the shared
 * view, the staleness walk of every requested ref, and planning (dry run, so
 * nothing is appended). Run it on a log a W build filled (bench/history-bench.ts
 * leaves one):
 *
 *   W_N=10000 W_EXEC=noop npx tsx bench/noop-phases.ts bench/out/history/history-10000.db [--repeat 3]
 */
import { loadGraph } from "../src/loader/load-graph.ts";
import { openSqliteEventLog } from "../src/event-log/index.ts";
import { currentJob, loadForBuild, planAndClaim, SharedView } from "../src/coordination/index.ts";
import { Staleness } from "../src/core/staleness.ts";
import { wTargets } from "./w-workload.ts";

const db = process.argv[2];
if (!db) throw new Error("usage: noop-phases.ts LOG.db [--repeat R]");
const at = process.argv.indexOf("--repeat");
const repeat = at === -1 ? 1 : Number(process.argv[at + 1]);
const n = Number(process.env.W_N ?? "1000");
const refs = wTargets(n);

const time = async <T>(what: string, f: () => Promise<T> | T): Promise<T> => {
  const t0 = performance.now();
  const result = await f();
  console.log(`${what.padEnd(28)} ${(performance.now() - t0).toFixed(1).padStart(8)} ms`);
  return result;
};

const graph = await time("loadGraph", () => loadGraph(new URL("./w-graph.ts", import.meta.url).pathname));
for (let r = 0; r < repeat; r++) {
  const log = await time("open the log", () => openSqliteEventLog(db, { readOnly: true }));
  const read = log.read.bind(log);
  let reads = 0;
  let events = 0;
  log.read = async (...a: Parameters<typeof log.read>) => {
    const page = await read(...a);
    reads++;
    events += page.length;
    return page;
  };
  const view = new SharedView();
  await time("loadForBuild", () => loadForBuild(log, view));
  const staleness = new Staleness(view.catalog, (ref) => currentJob(graph, ref));
  const usable = await time("staleness of the requested", () => refs.filter((ref) => staleness.isUsable(ref)).length);
  const plan = await time("planAndClaim (dry run)", () =>
    planAndClaim({ graph, log, view, buildRequestId: "noop-phases", emit: () => {}, flush: async () => {} }, refs, {
      dryRun: true,
    }),
  );
  console.log(`  ${reads} reads of the log, ${events} events`);
  console.log(
    `  ${usable} of ${refs.length} usable; ${plan.jobGraph.nodes.length} tasks; ${plan.available.size} available`,
  );
  await log.close();
}
