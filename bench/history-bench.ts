/**
 * Reads on a long history (issue 10): grows one event log with rounds of
 * rebuilds of workload W (in-process no-op jobs, W_EXEC=noop), and after the
 * first round and after the last prints, side by side, what the commands that
 * read the log cost: `status` of 2 refs, `explain` of 1, a build of all
 * reports with nothing to do, `builds`, the start of a command that needs no
 * graph (`--version`), bytes and events of log per job run, and make's own
 * up-to-date check of the same W tree (gen_w.py's Makefile) in the same run.
 *
 *   npx tsx bench/history-bench.ts [--n 10000] [--rounds R] [--runs 3]
 *       [--parallel 2] [--bin path/to/bin/databuild.js | --snapshot [REV]]
 *
 * A round after the first forces every job of W to run again honestly, the
 * way changed upstream data would: `databuild invalidate raw/0 .. raw/N-1`
 * (invalidated partitions are rebuilt; everything built from them is then
 * stale through lineage), then `databuild build -j2` of every report, which
 * rebuilds all 3N + M partitions. Each round checks that it ran 3N + M jobs.
 * (`build --force REF` only forces the requested refs, not their inputs.)
 *
 * The reads after a round, in order: `status` and `explain` right after the
 * round's build (read-only, so they leave no snapshot behind: every run folds
 * whatever the last snapshot lacks), the first no-op build (1 run: the first
 * command since the round that may write, so it may leave snapshots), more
 * no-op builds, `status` and `explain` again, `builds`, `--version`, and
 * `node -e 0`, `make -j2` and `make -q` for comparison.
 *
 * --rounds: default, as many as it takes to pass 1,000,000 events. --runs:
 * each timing is the median of that many runs (peak RSS and CPU time from
 * /usr/bin/time). --bin: the databuild to measure (default this checkout's
 * bin/databuild.js), to compare with another checkout; the graph is that
 * checkout's bench/w-graph.ts when it has one. --snapshot [REV]: measure the
 * last commit (or REV), extracted with `git archive` into
 * bench/out/history-snapshot/ and bundled there, so that edits of the working
 * tree cannot change the code mid-run (bin/databuild.js rebundles when a
 * source file changed).
 *
 * The machine may be shared: each timing also shows its CPU seconds (user +
 * system of the command) and "bg CPUs", the CPU other processes used
 * meanwhile (/proc/stat minus the command's own; 2 = both CPUs busy elsewhere).
 *
 * Installs make and GNU time with apt-get when missing (root only). Work files
 * go to bench/out/history/, the table to bench/out/history/results.md. Event
 * and job-run counts are read from the SQLite log's events table (read-only).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { has, installMissing } from "./apt-install.ts";
import { option } from "./option.ts";
import { generateW, wTargets } from "./w-workload.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(ROOT, "bench/out/history");
const args = process.argv.slice(2);
const n = Number(option("--n", "10000"));
const roundsOption = option("--rounds", "");
const maxRounds = roundsOption === "" ? Infinity : Number(roundsOption);
const runs = Number(option("--runs", "3"));
const parallel = option("--parallel", "2");
const EVENTS_TARGET = 1_000_000;
const CAP_S = 3600;
if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--n must be a positive integer`);
if (!(maxRounds >= 1)) throw new Error(`--rounds must be at least 1`);
if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer`);

function git(cwd: string, ...argv: string[]): string {
  return spawnSync("git", ["-C", cwd, ...argv], { encoding: "utf8" }).stdout.trim();
}

/** A commit, extracted and bundled (as bench/concurrent-bench.ts --snapshot does). */
function snapshot(rev: string): string {
  const snap = join(ROOT, "bench/out/history-snapshot");
  rmSync(snap, { recursive: true, force: true });
  mkdirSync(snap, { recursive: true });
  const x = spawnSync("sh", ["-c", 'git -C "$1" archive "$3" | tar -x -C "$2"', "sh", ROOT, snap, rev], {
    stdio: "inherit",
  });
  if (x.status !== 0) throw new Error(`git archive ${rev} failed`);
  symlinkSync(join(ROOT, "node_modules"), join(snap, "node_modules"));
  const r = spawnSync("node", ["scripts/bundle.mjs"], { cwd: snap, stdio: "inherit" });
  if (r.status !== 0) throw new Error("bundling the snapshot failed");
  return join(snap, "bin/databuild.js");
}

// The commit is taken when the run starts: other sessions may commit while it runs.
const snap = args.includes("--snapshot");
const snapArg = option("--snapshot", "HEAD");
const commitAtStart = git(ROOT, "rev-parse", "--short", "HEAD");
const snapCommit = snap ? git(ROOT, "rev-parse", "--short", snapArg.startsWith("--") ? "HEAD" : snapArg) : "";
if (snap && !snapCommit) throw new Error(`--snapshot ${snapArg}: no such commit`);
const BIN = resolve(snap ? snapshot(snapCommit) : option("--bin", join(ROOT, "bin/databuild.js")));
const CODE = join(dirname(BIN), "..");
const codeCommit = snap
  ? `${snapCommit} (snapshot)`
  : `${git(CODE, "rev-parse", "--short", "HEAD") || "?"}${git(CODE, "status", "--porcelain", "src") ? " + uncommitted src/" : ""}`;
const GRAPH = existsSync(join(CODE, "bench/w-graph.ts"))
  ? join(CODE, "bench/w-graph.ts")
  : join(ROOT, "bench/w-graph.ts");

function ensureTools(): void {
  installMissing([
    [existsSync("/usr/bin/time"), "time"],
    [has("make"), "make"],
  ]);
}

const dir = join(OUT, `w-${n}`);
const db = join(OUT, `history-${n}.db`);
const reports = wTargets(n);
const jobsPerRound = 3 * n + reports.length;
const raws = Array.from({ length: n }, (_, i) => `raw/${i}`);
const statusRefs = [`report/${Math.min(3, reports.length - 1)}`, `agg/${Math.floor(n / 2)}`];
const explainRef = statusRefs[0]!;
const env = { ...process.env, W_N: String(n), W_DIR: dir, W_EXEC: "noop" };
const databuild = (...argv: string[]) => ["node", BIN, "--graph", GRAPH, "--db", db, ...argv];

// --- measuring ---------------------------------------------------------------

interface Sample {
  wallS: number;
  /** User + system CPU seconds of the command (and its children). */
  cpuS: number;
  /** CPUs' worth of time other processes used meanwhile (0 = idle machine). */
  bgCpus: number;
  rssMb: number;
}

interface Timed extends Sample {
  status: number | null;
  stdout: string;
  stderr: string;
}

const TICKS_PER_S = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** Busy CPU seconds of the whole machine so far (user, nice, system, irq, softirq, steal). */
function busySeconds(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / TICKS_PER_S;
}

/** One command under /usr/bin/time: wall and CPU seconds, and the peak RSS of the process it starts. */
function timed(argv: string[]): Timed {
  const timeFile = join(OUT, ".time");
  const busy0 = busySeconds();
  const t0 = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "%M %U %S", "-o", timeFile, "timeout", String(CAP_S), ...argv], {
    cwd: dir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    maxBuffer: 1024 * 1024 * 1024,
  });
  // Wall time measured here (GNU time's %e has 10 ms resolution; make's checks take about that).
  const wallS = (performance.now() - t0) / 1000;
  const busy = busySeconds() - busy0;
  const [rssKb, user, sys] = readFileSync(timeFile, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
  const cpuS = user! + sys!;
  const bgCpus = wallS > 0 ? Math.max(0, (busy - cpuS) / wallS) : 0;
  return { wallS, cpuS, bgCpus, rssMb: rssKb! / 1024, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function mustSucceed(what: string, t: Timed, ok: (t: Timed) => boolean = (x) => x.status === 0): Timed {
  if (!ok(t)) {
    const tail = (t.stderr.trim() || t.stdout.trim()).split("\n").slice(-5).join("\n  ");
    throw new Error(`${what} failed (exit ${t.status}):\n  ${tail}`);
  }
  return t;
}

interface Counts {
  events: number;
  jobRuns: number;
  /** The log file and its -wal. */
  bytes: number;
  /** Of which read-model snapshots (a log of schema v2 on has them). */
  snapshotBytes: number | undefined;
}

function logCounts(): Counts {
  const bytes = [db, `${db}-wal`].reduce((sum, f) => sum + (existsSync(f) ? statSync(f).size : 0), 0);
  const sqlite = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const count = (sql: string) => sqlite.prepare(sql).pluck().get() as number;
    const events = count("SELECT count(*) FROM events");
    const jobRuns = count("SELECT count(*) FROM events WHERE kind IN ('partitionManifest', 58, -58)");
    const hasSnapshots = sqlite.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'snapshots'").get() !== undefined;
    const snapshotBytes = hasSnapshots ? count("SELECT coalesce(sum(length(state)), 0) FROM snapshots") : undefined;
    return { events, jobRuns, bytes, snapshotBytes };
  } finally {
    sqlite.close();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The medians of `times` runs (default --runs), each checked. */
function sample(what: string, argv: string[], ok?: (t: Timed) => boolean, times = runs): Sample {
  const ts: Timed[] = [];
  for (let i = 0; i < times; i++) ts.push(mustSucceed(what, timed(argv), ok));
  const m = (key: keyof Sample) => median(ts.map((t) => t[key]));
  const s = { wallS: m("wallS"), cpuS: m("cpuS"), bgCpus: m("bgCpus"), rssMb: m("rssMb") };
  console.log(
    `    ${what.padEnd(26)} ${s.wallS.toFixed(2).padStart(7)} s, cpu ${s.cpuS.toFixed(2).padStart(7)} s, ` +
      `${s.rssMb.toFixed(0).padStart(5)} MB, bg ${s.bgCpus.toFixed(2)} CPUs  (runs: ${ts.map((t) => t.wallS.toFixed(2)).join(", ")})`,
  );
  return s;
}

const ROWS = [
  "statusAfterBuild",
  "explainAfterBuild",
  "noopFirst",
  "noop",
  "status",
  "explain",
  "builds",
  "version",
  "node",
  "make",
  "makeq",
] as const;
type Row = (typeof ROWS)[number];
const LABELS: Record<Row, string> = {
  statusAfterBuild: `\`status ${statusRefs.join(" ")}\`, right after the round's build`,
  explainAfterBuild: `\`explain ${explainRef}\`, right after the round's build`,
  noopFirst: `\`build -j${parallel}\` of all ${reports.length} reports, nothing to do: the first after the round (1 run)`,
  noop: `\`build -j${parallel}\` of all ${reports.length} reports, nothing to do: the next ones`,
  status: `\`status ${statusRefs.join(" ")}\`, after the no-op builds`,
  explain: `\`explain ${explainRef}\`, after the no-op builds`,
  builds: "`builds`",
  version: "`databuild --version` (start, no graph)",
  node: "`node -e 0` (for comparison)",
  make: `\`make -j${parallel}\`, nothing to do`,
  makeq: "`make -q` (up-to-date check)",
};
/** The rows whose growth with the history is the question. */
const GROWS: readonly Row[] = ROWS.filter((row) => !["node", "make", "makeq"].includes(row));

interface Point extends Counts {
  round: number;
  samples: Record<Row, Sample>;
}

function measure(round: number): Point {
  console.log(`  reads after round ${round}:`);
  const samples = {} as Record<Row, Sample>;
  // Read-only commands right after a build, then a build with nothing to do (the first command that may
  // write since the round, which may leave read-model snapshots behind), then the same reads again.
  samples.statusAfterBuild = sample("status", databuild("status", ...statusRefs));
  samples.explainAfterBuild = sample("explain", databuild("explain", explainRef));
  const noop = databuild("build", "-j", parallel, ...reports);
  const nothingToDo = (t: Timed) => t.status === 0 && /Nothing to do/.test(t.stdout + t.stderr);
  samples.noopFirst = sample("no-op build, first", noop, nothingToDo, 1);
  samples.noop = sample("no-op build, next", noop, nothingToDo);
  samples.status = sample("status, after", databuild("status", ...statusRefs));
  samples.explain = sample("explain, after", databuild("explain", explainRef));
  samples.builds = sample("builds", databuild("builds"));
  samples.version = sample("--version", ["node", BIN, "--version"]);
  samples.node = sample("node -e 0", ["node", "-e", "0"]);
  samples.make = sample(`make -j${parallel} (nothing to do)`, ["make", "-s", `-j${parallel}`]);
  // make -q exits 1 when anything is out of date: it checks that the tree stayed built.
  samples.makeq = sample("make -q", ["make", "-q"]);
  // Counted after the reads: the no-op builds append a few hundred events each.
  const counts = logCounts();
  console.log(`    log: ${describe(counts)}`);
  return { round, ...counts, samples };
}

const fmt = (x: number, digits = 2) =>
  x.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const int = (x: number) => x.toLocaleString("en");
const mb = (bytes: number) => fmt(bytes / 1e6, 0);
const seconds = (x: number) => fmt(x, x < 1 ? 3 : 2);
const ratio = (a: number, b: number, digits = 2) => (b > 0 ? `${fmt(a / b, digits)}×` : "");

function describe(c: Counts): string {
  const snapshots = c.snapshotBytes === undefined ? "" : ` (snapshots ${mb(c.snapshotBytes)} MB)`;
  return `${int(c.events)} events, ${int(c.jobRuns)} job runs, ${mb(c.bytes)} MB${snapshots}`;
}

// --- the run -------------------------------------------------------------------

ensureTools();
const started = performance.now();
const startedAt = new Date();
mkdirSync(OUT, { recursive: true });
for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
generateW(dir, n, []);
spawnSync("sh", [join(dir, "reset.sh")], { stdio: "ignore" }); // creates the four output folders make's recipes need
console.log(
  `reads on a long history: W at N = ${n} (${jobsPerRound} jobs a round), in-process no-op jobs, -j${parallel}, ` +
    `median of ${runs} run(s), ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GB\n` +
    `databuild: ${BIN} (commit ${codeCommit}; HEAD at start ${commitAtStart}), started ${startedAt.toISOString()}`,
);

const makeBuild = mustSucceed("make (building the W tree)", timed(["make", "-s", `-j${parallel}`]));
console.log(`make -j${parallel} built the W tree for make in ${makeBuild.wallS.toFixed(2)} s`);

const points: Point[] = [];
const roundLines: string[] = [];
let round = 0;
let events = 0;
let jobRunsBefore = 0;
while (round < maxRounds && (roundsOption !== "" || events < EVENTS_TARGET)) {
  round++;
  const t0 = performance.now();
  let invalidate = "";
  if (round > 1) {
    const reason = `history-bench round ${round}`;
    const inv = mustSucceed("invalidate", timed(databuild("invalidate", "--reason", reason, ...raws)));
    invalidate = `invalidate ${inv.wallS.toFixed(2)} s (${inv.rssMb.toFixed(0)} MB, bg ${inv.bgCpus.toFixed(2)}), `;
  }
  const build = mustSucceed("build", timed(databuild("build", "-j", parallel, ...reports)));
  const counts = logCounts();
  const ran = counts.jobRuns - jobRunsBefore;
  jobRunsBefore = counts.jobRuns;
  events = counts.events;
  const line =
    `round ${round}: ${invalidate}build ${build.wallS.toFixed(2)} s (${build.rssMb.toFixed(0)} MB, ` +
    `bg ${build.bgCpus.toFixed(2)}), ${ran} jobs run; log ${describe(counts)}; ` +
    `round ${((performance.now() - t0) / 1000).toFixed(0)} s`;
  console.log(line);
  roundLines.push(line);
  if (ran !== jobsPerRound) throw new Error(`round ${round} ran ${ran} jobs, expected ${jobsPerRound}`);
  if (round === 1) points.push(measure(1));
}
if (round > 1) points.push(measure(round));
const first = points[0]!;
const last = points[points.length - 1]!;

const lines = [
  `| | after round 1: ${int(first.events)} events | | | | after round ${last.round}: ${int(last.events)} events | | | | last / first | |`,
  "| :-- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
  "| | wall s | cpu s | peak MB | bg CPUs | wall s | cpu s | peak MB | bg CPUs | wall | cpu |",
];
const cells = (s: Sample) => `${seconds(s.wallS)} | ${seconds(s.cpuS)} | ${fmt(s.rssMb, 0)} | ${fmt(s.bgCpus)}`;
for (const row of ROWS) {
  const [a, b] = [first.samples[row], last.samples[row]];
  const growth = GROWS.includes(row) ? `${ratio(b.wallS, a.wallS)} | ${ratio(b.cpuS, a.cpuS)}` : " | ";
  lines.push(`| ${LABELS[row]} | ${cells(a)} | ${cells(b)} | ${growth} |`);
}
const against = (label: string, row: Row, over: Row, digits: number) => {
  const at = (p: Point) => ratio(p.samples[row].wallS, p.samples[over].wallS, digits);
  return `| ${label} | ${at(first)} | | | | ${at(last)} | | | | | |`;
};
const both = (label: string, value: (p: Point) => string) =>
  `| ${label} | ${value(first)} | | | | ${value(last)} | | | | | |`;
lines.push(
  against(`no-op build / \`make -j${parallel}\` nothing to do (wall)`, "noop", "make", 2),
  against("no-op build / `make -q` (wall)", "noop", "makeq", 2),
  against("`--version` / `node -e 0` (wall)", "version", "node", 1),
  both("log size (db + -wal), MB", (p) => mb(p.bytes)),
  ...(last.snapshotBytes === undefined ? [] : [both("of which snapshots, MB", (p) => mb(p.snapshotBytes ?? 0))]),
  both("job runs", (p) => int(p.jobRuns)),
  both("bytes of log per job run", (p) => fmt(p.bytes / p.jobRuns, 0)),
  both("events per job run", (p) => fmt(p.events / p.jobRuns)),
);
const totalS = (performance.now() - started) / 1000;
const summary = [
  `W at N = ${n}, ${round} round(s), median of ${runs} run(s), databuild commit ${codeCommit}, ` +
    `started ${startedAt.toISOString()}, ${cpus().length} CPUs; whole run ${(totalS / 60).toFixed(1)} min`,
  "",
  ...roundLines,
  "",
  ...lines,
].join("\n");
console.log("\n" + summary);
writeFileSync(join(OUT, "results.md"), summary + "\n");
