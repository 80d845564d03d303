/**
 * Build throughput on reference workload W (SPEC 4): every job touches its
 * output file. databuild (executable jobs from a manifest, and in-process
 * TypeScript jobs that touch files or do nothing) next to `make -j2`,
 * `ninja -j2` and `snakemake --cores 2`, in the same run, from "nothing
 * built" each time.
 *
 *   npx tsx bench/build-bench.ts [--sizes 1000,10000] [--runs 1]
 *       [--tools make,ninja,snakemake,db-exec,db-ts-touch,db-ts-noop] [--parallel 2]
 *       [--snakemake-cap 300] [--baseline DIR [--baseline-label TEXT]]
 *
 * --baseline DIR runs databuild's rows once more from another checkout (a
 * `git archive` of an older commit with node_modules linked), interleaved
 * with the rest: before and after in one run. With --runs above 1 the table
 * shows each tool's median.
 *
 * Installs make, ninja-build, snakemake and GNU time with apt-get when
 * missing (root only; never in CI). Work files go to bench/out/build/.
 * Prints a table of wall time and jobs per second, and the ratio to make.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { has, installMissing } from "./apt-install.ts";
import { option } from "./option.ts";
import { generateW, wManifest, wTargets } from "./w-workload.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(ROOT, "bench/out/build");

const sizes = option("--sizes", "1000,10000").split(",").map(Number);
const runs = Number(option("--runs", "1"));
const parallel = option("--parallel", "2");
const snakemakeCap = Number(option("--snakemake-cap", "300"));
const ALL = ["make", "ninja", "snakemake", "db-exec", "db-ts-touch", "db-ts-noop"];
const baseline = option("--baseline", "");
const baselineLabel =
  option("--baseline-label", "") ||
  (baseline &&
    (spawnSync("git", ["-C", baseline, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).stdout.trim() ||
      baseline));
const chosen = option("--tools", ALL.join(",")).split(",");
for (const t of chosen) if (!ALL.includes(t)) throw new Error(`unknown tool ${t}; tools: ${ALL.join(", ")}`);
/** A baseline row is its tool's id with "@base": databuild run from the --baseline checkout. */
const tools = chosen.flatMap((t) => (baseline && t.startsWith("db-") ? [t, `${t}@base`] : [t]));
const python = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).stdout.trim();

function ensureTools(): void {
  installMissing([
    [existsSync("/usr/bin/time"), "time"],
    [!tools.includes("make") || has("make"), "make"],
    [!tools.includes("ninja") || has("ninja"), "ninja-build"],
    [!tools.includes("snakemake") || has("snakemake"), "snakemake"],
  ]);
}

function months(n: number): number {
  return Math.ceil(n / 30);
}

const targets = wTargets;

function generate(n: number): string {
  const dir = join(OUT, `w-${n}`);
  generateW(dir, n, ["w_config.py"]);
  writeFileSync(join(dir, "databuild.yaml"), wManifest(n, [python, "w_config.py"], "bench/build-bench.ts"));
  return dir;
}

interface Command {
  argv: string[];
  env?: Record<string, string>;
  /** Where the build's outputs land, to check it built everything. */
  reports?: string;
  cap?: number;
}

function command(id: string, n: number, dir: string): Command {
  const refs = targets(n);
  const db = join(dir, ".databuild-bench.db");
  const base = id.endsWith("@base");
  const tool = id.replace(/@base$/, "");
  const root = base ? resolve(baseline) : ROOT;
  const BIN = join(root, "bin/databuild.js");
  switch (tool) {
    case "make":
      return { argv: ["make", "-s", `-j${parallel}`], reports: dir };
    case "ninja":
      return { argv: ["ninja", `-j${parallel}`], reports: dir };
    case "snakemake":
      return { argv: ["snakemake", "--cores", parallel, "-q"], reports: dir, cap: snakemakeCap };
    case "db-exec":
      return {
        argv: ["node", BIN, "--graph", join(dir, "databuild.yaml"), "--db", db, "build", "-j", parallel, ...refs],
        reports: dir,
      };
    case "db-ts-touch":
      return {
        argv: ["node", BIN, "--graph", join(root, "bench/w-graph.ts"), "--db", db, "build", "-j", parallel, ...refs],
        env: { W_N: String(n), W_DIR: dir },
        reports: dir,
      };
    case "db-ts-noop":
      return {
        argv: ["node", BIN, "--graph", join(root, "bench/w-graph.ts"), "--db", db, "build", "-j", parallel, ...refs],
        env: { W_N: String(n), W_DIR: dir, W_EXEC: "noop" },
      };
  }
  throw new Error(tool);
}

interface Result {
  tool: string;
  n: number;
  jobs: number;
  wallS: number;
  /** User + system CPU seconds of the command and its children (less swayed by a busy machine than wall time). */
  cpuS: number;
  /** CPUs other processes kept busy meanwhile (/proc/stat minus this command's own; 2 = both cores). */
  bgCpus: number;
  ok: boolean;
  note: string;
}

const TICKS_PER_S = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** Busy CPU seconds of the whole machine so far (user, nice, system, irq, softirq, steal). */
function busySeconds(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / TICKS_PER_S;
}

function measure(tool: string, n: number, dir: string): Result {
  const jobs = 3 * n + months(n);
  spawnSync("sh", [join(dir, "reset.sh")], { stdio: "ignore" });
  for (const f of readdirSync(dir)) if (f.startsWith(".databuild-bench.db")) rmSync(join(dir, f), { force: true });
  const c = command(tool, n, dir);
  const timeFile = join(dir, ".time");
  const cap = c.cap ?? 1800;
  const busy0 = busySeconds();
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S", "-o", timeFile, "timeout", String(cap), ...c.argv], {
    cwd: dir,
    env: { ...process.env, ...c.env },
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
  });
  const [wallS = NaN, userS = NaN, systemS = NaN] = readFileSync(timeFile, "utf8")
    .trim()
    .split("\n")
    .pop()!
    .split(" ")
    .map(Number);
  const cpuS = userS + systemS;
  const bgCpus = Math.max(0, (busySeconds() - busy0 - cpuS) / wallS);
  rmSync(join(dir, ".trash"), { recursive: true, force: true });
  if (r.status === 124) return { tool, n, jobs, wallS, cpuS, bgCpus, ok: false, note: `> ${cap} s (capped)` };
  const built = c.reports ? readdirSync(join(dir, "report")).length : months(n);
  const ok = r.status === 0 && built === months(n);
  const note = ok
    ? ""
    : `exit ${r.status}, ${built}/${months(n)} reports; ${r.stderr.trim().split("\n").slice(-2).join(" | ")}`;
  return { tool, n, jobs, wallS, cpuS, bgCpus, ok, note };
}

const LABELS: Record<string, string> = {
  make: `make -j${parallel}`,
  ninja: `ninja -j${parallel}`,
  snakemake: `snakemake --cores ${parallel}`,
  "db-exec": `databuild build -j${parallel}, executable jobs (manifest, touch)`,
  "db-ts-touch": `databuild build -j${parallel}, in-process TS jobs that touch`,
  "db-ts-noop": `databuild build -j${parallel}, in-process TS no-op jobs`,
};

ensureTools();
console.log(`build throughput, W, sizes ${sizes.join(", ")}, ${runs} run(s) each, ${cpus().length} CPUs\n`);
const results: Result[] = [];
for (const n of sizes) {
  const dir = generate(n);
  for (let run = 0; run < runs; run++) {
    for (const tool of tools) {
      const result = measure(tool, n, dir);
      results.push(result);
      console.log(
        `  ${tool.padEnd(12)} N=${n}: ${result.wallS.toFixed(2)} s, cpu ${result.cpuS.toFixed(2)} s, bg ${result.bgCpus.toFixed(2)} CPUs ${result.ok ? "" : `FAILED ${result.note}`}`,
      );
    }
  }
}

/** Each tool's median successful run at each size (its first run when none succeeded). */
const chosenRun = new Map<string, Result>();
for (const n of sizes)
  for (const tool of tools) {
    const mine = results.filter((r) => r.tool === tool && r.n === n);
    const good = mine.filter((r) => r.ok).sort((a, b) => a.wallS - b.wallS);
    chosenRun.set(`${tool}/${n}`, good.length > 0 ? good[Math.floor((good.length - 1) / 2)]! : mine[0]!);
  }
const label = (tool: string) =>
  tool.endsWith("@base") ? `${LABELS[tool.replace(/@base$/, "")]} [baseline ${baselineLabel}]` : LABELS[tool];
const lines = [
  `| tool | N | jobs | wall s${runs > 1 ? " (median)" : ""} | cpu s | bg CPUs | jobs/s | × make | × ninja |`,
  "| :-- | --: | --: | --: | --: | --: | --: | --: | --: |",
];
for (const n of sizes) {
  const make = chosenRun.get(`make/${n}`);
  const ninja = chosenRun.get(`ninja/${n}`);
  for (const tool of tools) {
    const r = chosenRun.get(`${tool}/${n}`)!;
    const rate = r.jobs / r.wallS;
    const ratio = (other: Result | undefined) => (other?.ok && r.ok ? (other.wallS / r.wallS).toFixed(2) : "");
    lines.push(
      `| ${label(tool)} | ${n} | ${r.jobs} | ${r.ok ? r.wallS.toFixed(2) : r.note} | ${r.cpuS.toFixed(2)} | ${r.bgCpus.toFixed(2)} | ${r.ok ? rate.toFixed(0) : ""} | ${ratio(make)} | ${ratio(ninja)} |`,
    );
  }
}
console.log("\n" + lines.join("\n"));
writeFileSync(join(OUT, "results.md"), lines.join("\n") + "\n");
