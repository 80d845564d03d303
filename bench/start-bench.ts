/**
 * Start-time benchmark (SPEC 4: a command that needs no graph starts within
 * 2x of `node -e 0`): `node -e 0` against `databuild --version`, `--help`,
 * `builds` and `events` on a small log, interleaved, side by side.
 *
 *   npx tsx bench/start-bench.ts [--runs 40] [--compare REV] [--quiet-wait 0]
 *
 * The log is made once in bench/out/start/ by building the weather example
 * (29 jobs, ~270 events). Every command runs --runs times, round robin (one
 * run of each command, then the next round), so a machine whose load
 * changes slows all of them alike; the table shows the median and the best
 * wall time and the median over `node -e 0`. `--compare REV` also runs the
 * same commands from commit REV (extracted with `git archive` into
 * bench/out/start/REV/, node_modules linked, its bundle built), for a before
 * and after in one run. The machine may be shared: "bg CPUs" is the CPU time
 * other processes used meanwhile, per wall second (from /proc/stat);
 * `--quiet-wait S` waits up to S seconds before each round for it to drop
 * under 0.3.
 *
 * Writes bench/out/start/results.md (the table) and results.json.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { option } from "./option.ts";

const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "bench/out/start");
const RUNS = Number(option("--runs", "40"));
const COMPARE = option("--compare", "");
const QUIET_WAIT_S = Number(option("--quiet-wait", "0"));

interface Row {
  label: string;
  argv: string[];
  wallMs: number[];
}

mkdirSync(OUT, { recursive: true });
const db = join(OUT, "small.db");
if (!existsSync(db)) {
  const built = spawnSync(
    process.execPath,
    [
      join(ROOT, "bin/databuild.js"),
      "--graph",
      join(ROOT, "examples/weather/databuild.ts"),
      "--db",
      db,
      "build",
      "weekly_report/week=2024-W18",
    ],
    { encoding: "utf8" },
  );
  if (built.status !== 0) throw new Error(`could not make the log: ${built.stderr}`);
}

const checkouts: { name: string; dir: string }[] = [{ name: "working tree", dir: ROOT }];
if (COMPARE) checkouts.push({ name: COMPARE, dir: snapshot(COMPARE) });

const rows: Row[] = [{ label: "node -e 0", argv: ["-e", "0"], wallMs: [] }];
for (const { name, dir } of checkouts) {
  const bin = join(dir, "bin/databuild.js");
  const suffix = checkouts.length > 1 ? ` (${name})` : "";
  rows.push(
    { label: `databuild --version${suffix}`, argv: [bin, "--version"], wallMs: [] },
    { label: `databuild --help${suffix}`, argv: [bin, "--help"], wallMs: [] },
    { label: `databuild builds${suffix}`, argv: [bin, "--db", db, "builds"], wallMs: [] },
    { label: `databuild events${suffix}`, argv: [bin, "--db", db, "events"], wallMs: [] },
  );
}

// One run of each first: a stale bundle is rebuilt before anything is timed.
for (const row of rows) run(row.argv);
const busy: number[] = [];
for (let round = 0; round < RUNS; round++) {
  waitForQuiet();
  const before = cpuTicks();
  const started = performance.now();
  let own = 0;
  for (const row of rows) {
    const { ms, cpuMs } = run(row.argv);
    row.wallMs.push(ms);
    own += cpuMs;
  }
  const wall = performance.now() - started;
  busy.push(Math.max(0, (cpuTicks() - before - own) / wall));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const floor = median(rows[0]!.wallMs);
const lines = [
  `Start time, ${RUNS} interleaved runs each, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), Node ${process.version}; bg CPUs median ${median(busy).toFixed(2)}`,
  "",
  "| command | median ms | best ms | median / node -e 0 |",
  "| --- | ---: | ---: | ---: |",
  ...rows.map(
    (row) =>
      `| ${row.label} | ${median(row.wallMs).toFixed(0)} | ${Math.min(...row.wallMs).toFixed(0)} | ${(median(row.wallMs) / floor).toFixed(2)} |`,
  ),
];
console.log(lines.join("\n"));
writeFileSync(join(OUT, "results.md"), lines.join("\n") + "\n");
writeFileSync(join(OUT, "results.json"), JSON.stringify({ runs: RUNS, busy, rows }, null, 2) + "\n");

/** Runs `node ...argv` with output discarded: wall time, and the child's CPU time (from /proc/self/stat of children). */
function run(argv: readonly string[]): { ms: number; cpuMs: number } {
  const cpuBefore = childCpuMs();
  const started = performance.now();
  const result = spawnSync(process.execPath, argv, { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`node ${argv.join(" ")} exited ${result.status}: ${result.stderr}`);
  return { ms, cpuMs: childCpuMs() - cpuBefore };
}

/** CPU time (ms) of this process's waited-for children (cutime + cstime). */
function childCpuMs(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}

/** Busy CPU time of the whole machine (ms), from /proc/stat. */
function cpuTicks(): number {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = ticks.map(Number);
  return ((user! + nice! + system! + irq! + softirq! + steal!) * 1000) / 100;
}

function waitForQuiet(): void {
  const deadline = Date.now() + QUIET_WAIT_S * 1000;
  while (Date.now() < deadline) {
    const before = cpuTicks();
    const started = Date.now();
    execFileSync("sleep", ["0.5"]);
    if ((cpuTicks() - before) / (Date.now() - started) < 0.3) return;
  }
}

/** Commit `rev` extracted into bench/out/start/<rev>/ with node_modules linked and its bundle built. */
function snapshot(rev: string): string {
  const commit = execFileSync("git", ["rev-parse", "--short", rev], { cwd: ROOT, encoding: "utf8" }).trim();
  const dir = join(OUT, commit);
  if (!existsSync(join(dir, "dist/cli.mjs"))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync("sh", ["-c", `git archive ${commit} | tar -x -C ${JSON.stringify(dir)}`], { cwd: ROOT });
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    execFileSync(process.execPath, [join(dir, "scripts/bundle.mjs")], { cwd: dir, stdio: "inherit" });
  }
  return dir;
}
