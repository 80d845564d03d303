/**
 * Concurrent builds on reference workload W (SPEC 4): K `databuild build`
 * processes started at the same moment on one fresh event log, each asking
 * for an overlapping half of W's targets (windows of ⌈M/2⌉ consecutive
 * `report/m`, evenly offset so that together they cover all M and
 * neighbours overlap). Checks that every partition was built exactly once,
 * next to ONE process building the union from a fresh log.
 *
 *   npx tsx bench/concurrent-bench.ts [--n 2000] [--k 2,4,8] [--parallel 2]
 *       [--tools exec,ts-touch,ts-noop] [--cap 1800] [--snapshot]
 *
 * exec: W as a manifest, `touch` jobs (as in build-bench.ts); ts-touch and
 * ts-noop: bench/w-graph.ts with in-process jobs. Work files and each
 * process's output go to bench/out/concurrent/. Counts come from
 * `databuild events --json`: job runs = partitionManifest events, distinct
 * partitions = distinct outputs of those manifests (exactly once: equal, and
 * each build's graphBuildSuccess.jobsRun equals the manifests it logged),
 * and partitionDelegated events. Prints a markdown table (also written to
 * results.md there); on a non-zero exit or a violation, each process's build
 * id and last output, and keeps a copy of the event log under runs/.
 * --snapshot runs the last commit's databuild (extracted into
 * bench/out/concurrent-snapshot/ and bundled there), immune to concurrent
 * edits of the working tree, which bin/databuild.js would rebundle mid-run.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { option } from "./option.ts";
import { generateW, wManifest, wTargets } from "./w-workload.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(ROOT, "bench/out/concurrent");

const args = process.argv.slice(2);
const n = Number(option("--n", "2000"));
const ks = option("--k", "2,4,8").split(",").map(Number);
const parallel = option("--parallel", "2");
const cap = Number(option("--cap", "1800"));
const ALL = ["exec", "ts-touch", "ts-noop"];
const tools = option("--tools", "exec").split(",");
for (const t of tools) if (!ALL.includes(t)) throw new Error(`unknown tool ${t}; tools: ${ALL.join(", ")}`);
const commit = args.includes("--snapshot")
  ? `${git("rev-parse", "--short", "HEAD")} (snapshot)`
  : `${git("rev-parse", "--short", "HEAD")}${git("status", "--porcelain", "src") ? " + uncommitted src/" : ""}`;
function git(...argv: string[]): string {
  return spawnSync("git", ["-C", ROOT, ...argv], { encoding: "utf8" }).stdout.trim();
}

/** The code under test: the working tree, or with --snapshot the last commit, extracted and bundled. */
function snapshot(): string {
  const snap = join(ROOT, "bench/out/concurrent-snapshot");
  rmSync(snap, { recursive: true, force: true });
  mkdirSync(snap, { recursive: true });
  spawnSync("sh", ["-c", 'git -C "$1" archive HEAD | tar -x -C "$2"', "sh", ROOT, snap], { stdio: "inherit" });
  symlinkSync(join(ROOT, "node_modules"), join(snap, "node_modules"));
  spawnSync("node", ["scripts/bundle.mjs"], { cwd: snap, stdio: "inherit" });
  return snap;
}
const CODE = args.includes("--snapshot") ? snapshot() : ROOT;
const BIN = join(CODE, "bin/databuild.js");

const python = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).stdout.trim();

const targets = wTargets(n);
const partitions = 3 * n + targets.length; // one job run per partition in W

/** K windows of ⌈M/2⌉ consecutive targets, evenly offset from the first to the last. */
function windows(k: number): string[][] {
  const size = Math.ceil(targets.length / 2);
  return Array.from({ length: k }, (_, i) => {
    const start = k === 1 ? 0 : Math.round((i * (targets.length - size)) / (k - 1));
    return targets.slice(start, start + size);
  });
}

const dir = join(OUT, `w-${n}`);
/** Each process's output, and the event log of a run with problems, kept per invocation. */
const LOGS = join(OUT, "runs", new Date().toISOString().replace(/[:.]/g, "-"));
generateW(dir, n, ["w_config.py"]);
writeFileSync(join(dir, "databuild.yaml"), wManifest(n, [python, "w_config.py"], "bench/concurrent-bench.ts"));
const db = join(dir, ".databuild-bench.db");

function graphArgs(tool: string): { argv: string[]; env: Record<string, string> } {
  if (tool === "exec") return { argv: ["--graph", join(dir, "databuild.yaml"), "--db", db], env: {} };
  const env: Record<string, string> = { W_N: String(n), W_DIR: dir };
  if (tool === "ts-noop") env.W_EXEC = "noop";
  return { argv: ["--graph", join(CODE, "bench/w-graph.ts"), "--db", db], env };
}

interface Proc {
  pid: number;
  code: number | null;
  wallS: number;
  log: string;
}

/** Starts one build per target list at once on a fresh log; resolves when all have exited. */
async function runAll(tool: string, label: string, lists: string[][]): Promise<{ wallS: number; procs: Proc[] }> {
  spawnSync("sh", [join(dir, "reset.sh")], { stdio: "ignore" });
  rmSync(join(dir, ".trash"), { recursive: true, force: true });
  for (const f of readdirSync(dir)) if (f.startsWith(".databuild-bench.db")) rmSync(join(dir, f), { force: true });
  mkdirSync(LOGS, { recursive: true });
  const g = graphArgs(tool);
  const t0 = performance.now();
  const exits = lists.map((refs, i) => {
    const log = join(LOGS, `${tool}-${label}-${i}.log`);
    const fd = openSync(log, "w");
    const child = spawn("node", [BIN, ...g.argv, "build", "-j", parallel, ...refs], {
      cwd: dir,
      env: { ...process.env, ...g.env },
      stdio: ["ignore", fd, fd],
      timeout: cap * 1000,
    });
    closeSync(fd);
    return new Promise<Proc>((resolve) =>
      child.on("exit", (code) => resolve({ pid: child.pid!, code, wallS: (performance.now() - t0) / 1000, log })),
    );
  });
  const procs = await Promise.all(exits);
  return { wallS: (performance.now() - t0) / 1000, procs };
}

interface Counts {
  jobRuns: number;
  distinct: number;
  delegations: number;
  buildIds: Map<number, string>; // pid -> build request id
  runsBy: Map<string, number>; // build request id -> job runs
  /** Builds whose graphBuildSuccess counts more job runs than the manifests they logged (a hole in the log). */
  holes: string[];
}

function countEvents(): Counts {
  const r = spawnSync("node", [BIN, "--graph", join(dir, "databuild.yaml"), "--db", db, "events", "--json"], {
    encoding: "utf8",
    maxBuffer: 1024 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`databuild events failed: ${r.stderr}`);
  const counts: Counts = { jobRuns: 0, distinct: 0, delegations: 0, buildIds: new Map(), runsBy: new Map(), holes: [] };
  const reported = new Map<string, number>();
  const outputs = new Set<string>();
  for (const line of r.stdout.split("\n")) {
    if (!line) continue;
    const e = JSON.parse(line);
    if (e.partitionManifest) {
      counts.jobRuns++;
      counts.runsBy.set(e.buildRequestId, (counts.runsBy.get(e.buildRequestId) ?? 0) + 1);
      for (const o of e.partitionManifest.outputs ?? []) outputs.add(o.str);
    } else if (e.partitionDelegated) counts.delegations++;
    else if (e.buildRequestReceived) counts.buildIds.set(e.buildRequestReceived.pid, e.buildRequestId);
    else if (e.graphBuildSuccess) reported.set(e.buildRequestId, e.graphBuildSuccess.jobsRun ?? 0);
  }
  for (const [id, runs] of reported)
    if (runs > (counts.runsBy.get(id) ?? 0))
      counts.holes.push(`build ${id} reports ${runs} job runs but logged ${counts.runsBy.get(id) ?? 0} manifests`);
  counts.distinct = outputs.size;
  return counts;
}

const LABELS: Record<string, string> = {
  exec: "executable jobs (manifest, touch)",
  "ts-touch": "in-process TS jobs that touch",
  "ts-noop": "in-process TS no-op jobs",
};

console.log(
  `concurrent builds, W with N = ${n} (${targets.length} targets, ${partitions} partitions), ` +
    `K = ${ks.join(", ")}, -j ${parallel} each, ${cpus().length} CPUs, commit ${commit}\n`,
);
const rows: string[] = [];
const problems: string[] = [];
for (const tool of tools) {
  for (const k of [1, ...ks]) {
    const lists = k === 1 ? [targets] : windows(k);
    const label = k === 1 ? "single" : `K${k}`;
    const { wallS, procs } = await runAll(tool, label, lists);
    const c = countEvents();
    const reports = tool === "ts-noop" ? targets.length : readdirSync(join(dir, "report")).length;
    // No partition built twice: one manifest per partition, and no build ran jobs whose manifests the log lost.
    const once = c.jobRuns === c.distinct && c.holes.length === 0;
    const complete = c.distinct === partitions && reports === targets.length;
    const codes = procs.map((p) => p.code ?? "killed").join(",");
    const runsEach = procs.map((p) => c.runsBy.get(c.buildIds.get(p.pid) ?? "") ?? 0).join("/");
    const slowest = Math.max(...procs.map((p) => p.wallS));
    const fastest = Math.min(...procs.map((p) => p.wallS));
    const who = k === 1 ? "1 process, union of all targets" : `${k} processes, ${lists[0]!.length} targets each`;
    rows.push(
      `| ${LABELS[tool]} | ${who} | ${wallS.toFixed(2)} | ${k === 1 ? "" : `${fastest.toFixed(1)}–${slowest.toFixed(1)}`} | ${codes} | ` +
        `${c.jobRuns} | ${k === 1 ? "" : runsEach} | ${c.distinct} | ${once ? "OK" : "VIOLATION"} | ${c.delegations} |`,
    );
    console.log(
      `  ${tool} ${label}: ${wallS.toFixed(2)} s, exits ${codes}, ${c.jobRuns} job runs (${runsEach}), ${c.distinct} partitions, ` +
        `${c.delegations} delegations, ${reports}/${targets.length} reports ${once ? "" : "VIOLATION"}${complete ? "" : " INCOMPLETE"}`,
    );
    const failed = procs.filter((p) => p.code !== 0);
    if (!once || !complete || failed.length > 0) {
      const detail = procs.map((p) => {
        const tail = readFileSync(p.log, "utf8").trim().split("\n").slice(-8).join("\n      ");
        return `    pid ${p.pid} build ${c.buildIds.get(p.pid) ?? "?"} exit ${p.code} at ${p.wallS.toFixed(1)} s\n      ${tail}`;
      });
      for (const f of readdirSync(dir))
        if (f.startsWith(".databuild-bench.db"))
          copyFileSync(join(dir, f), join(LOGS, `${tool}-${label}${f.slice(16)}`));
      problems.push(
        `${tool} ${label}: ${c.jobRuns} job runs (${runsEach}), ${c.distinct} partitions\n${c.holes.map((h) => `    ${h}\n`).join("")}${detail.join("\n")}`,
      );
    }
  }
}

const lines = [
  `W, N = ${n}: ${partitions} partitions, ${targets.length} targets; every process runs \`databuild build -j ${parallel}\`; commit ${commit}.`,
  "",
  "| jobs | processes | wall s | each exits at s | exit codes | job runs | job runs per process | distinct partitions | exactly once | delegations |",
  "| :-- | :-- | --: | --: | :-- | --: | :-- | --: | :-- | --: |",
  ...rows,
];
console.log("\n" + lines.join("\n"));
writeFileSync(join(OUT, "results.md"), lines.join("\n") + "\n");
if (problems.length > 0) {
  console.log(`\nPROBLEMS (logs and event logs in ${LOGS}):\n` + problems.join("\n"));
  process.exitCode = 1;
}
