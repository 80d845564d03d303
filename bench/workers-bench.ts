/**
 * Workers and PostgreSQL (issue 11) on reference workload W (SPEC 4), with
 * executable jobs (the manifest W of build-bench.ts's db-exec: `touch`
 * jobs through the exec wrapper), from nothing built each time, in one run:
 *
 *  1. one `databuild build` of every target: the local launcher on SQLite,
 *     the local launcher on PostgreSQL, and `--launcher worker` with
 *     `databuild worker`s on 1, 2, 3... hosts (network namespaces on this
 *     machine; the build runs on the first host; PostgreSQL listens on the
 *     bridge address in this process's namespace): wall time, jobs/s;
 *  2. claim latency from the events: jobRunOffered → jobRunTaken (worker
 *     runs), and jobScheduleSuccess → taskLaunchSuccess (every run), and
 *     the median of every step of a job run;
 *  3. CPU time: PostgreSQL's (the postmaster and its children, from
 *     /proc/<pid>/stat before and after), the build's, the workers', and
 *     the rest of the machine's; and PostgreSQL's transactions and WAL
 *     flushes per job, and how many sessions wait on a lock (sampled);
 *  4. K builds at once of overlapping halves of the targets (as
 *     concurrent-bench.ts), local launcher, on SQLite and on PostgreSQL,
 *     checking that every partition was built exactly once.
 *
 *   npx tsx bench/workers-bench.ts [--n 2000] [--hosts 1,2,3] [--k 8]
 *       [--worker-n N] [--parallel 2] [--quick] [--freeze] [--cap 900]
 *       [--keep-events] [--pg-statements] [--bin PATH]
 *
 * --parallel: `-j` of a local build, and `--slots` of each worker (a worker
 * build gets `-j` = slots × hosts, so that every slot can be busy).
 * --worker-n: N for the worker rows only (default: --n); at N = 2000 they
 * took 2.4–5.7 minutes each on the shared 2-CPU machine, most of a full
 * run (12.5–18.6 minutes). --quick: a smoke run (N = 150, hosts 1,2,
 * K = 3, about 1.5 minutes). --k 0 skips the concurrent builds. --freeze: copy the
 * working tree (tracked and untracked files, not ignored ones) into
 * bench/out/workers-tree/ and run databuild from there, bundled once, so
 * that edits of src/ during the run cannot change the code under test.
 * --cap: seconds per build process before it is killed. --keep-events:
 * write each run's `databuild events --json` to its runs/ folder.
 * --pg-statements: load pg_stat_statements and print each PostgreSQL
 * run's most expensive statements (a diagnosis; it costs some CPU).
 * --bin: another checkout's bin/databuild.js (default: this one's).
 *
 * Needs root (network namespaces; PostgreSQL runs as the `postgres` user),
 * Debian's postgresql package and GNU time. The server is started with
 * fsync on (startPostgresServer's `durable`). Every "host" shares this
 * machine's CPUs: the figures show coordination overhead, not scaling.
 * Work files and each process's output go to bench/out/workers/; the
 * tables also go to bench/out/workers/results.md. The namespaces, the
 * server and every process started are removed at the end, on failure and
 * on SIGINT/SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  cpSync,
} from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import pg from "pg";
import { canMakeNamespaces, makeTestNetwork, type TestNetwork } from "../src/testing/network-namespaces.ts";
import { startPostgresServer, type PostgresServer } from "../src/testing/postgres-server.ts";
import { option } from "./option.ts";
import { machineBusyS, TreeCpuWatch, treeCpuS } from "./proc-cpu.ts";
import { generateW, wManifest, wTargets } from "./w-workload.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(ROOT, "bench/out/workers");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const n = Number(option("--n", quick ? "150" : "2000"));
const hostCounts = option("--hosts", quick ? "1,2" : "1,2,3")
  .split(",")
  .map(Number);
const k = Number(option("--k", quick ? "3" : "8"));
const workerN = Number(option("--worker-n", String(n)));
const parallel = Number(option("--parallel", "2"));
const capS = Number(option("--cap", "900"));
const freeze = args.includes("--freeze");
const keepEvents = args.includes("--keep-events");
const pgStatements = args.includes("--pg-statements");

function git(...argv: string[]): string {
  return spawnSync("git", ["-C", ROOT, ...argv], { encoding: "utf8" }).stdout.trim();
}
const commit = `${git("rev-parse", "--short", "HEAD")}${git("status", "--porcelain", "src") ? " + uncommitted src/" : ""}`;

/** The working tree as it is now, copied and bundled, for --freeze. */
function frozenTree(): string {
  const tree = join(ROOT, "bench/out/workers-tree");
  rmSync(tree, { recursive: true, force: true });
  const files = spawnSync("git", ["-C", ROOT, "ls-files", "-co", "--exclude-standard", "-z"], { encoding: "utf8" })
    .stdout.split("\0")
    .filter((f) => f && !f.startsWith("bench/out/") && existsSync(join(ROOT, f)));
  for (const f of files) {
    mkdirSync(dirname(join(tree, f)), { recursive: true });
    cpSync(join(ROOT, f), join(tree, f));
  }
  symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"));
  const b = spawnSync("node", ["scripts/bundle.mjs"], { cwd: tree, stdio: "inherit" });
  if (b.status !== 0) throw new Error("bundling the frozen tree failed");
  return tree;
}

// ---------------------------------------------------------------------------
// Processes, and removing everything on the way out.

interface Proc {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: string | null }>;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let network: TestNetwork | undefined;
let server: PostgresServer | undefined;

/** Starts argv in a process group of its own (so that it and its jobs can be signalled together), output to `log`. */
function start(argv: readonly string[], log: string, cwd: string): Proc {
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd,
    env: { ...cleanEnv(), DATABUILD_GRAPH: "", DATABUILD_DB: "" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  live.add(child);
  const file = createWriteStream(log);
  let text = "";
  const wakers = new Set<() => void>();
  const took = (d: string) => {
    file.write(d);
    text = (text + d).slice(-200_000);
    for (const w of wakers) w();
  };
  child.stdout!.setEncoding("utf8").on("data", took);
  child.stderr!.setEncoding("utf8").on("data", took);
  let exited = false;
  const done = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("close", (code, signal) => {
      exited = true;
      live.delete(child);
      file.end();
      for (const w of wakers) w();
      resolve({ code, signal });
    }),
  );
  return {
    child,
    done,
    output: () => text,
    waitFor: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`timed out waiting for ${pattern}:\n${text}`)), timeoutMs);
        const finish = (error?: Error) => {
          clearTimeout(timer);
          wakers.delete(check);
          if (error) reject(error);
          else resolve();
        };
        const check = () => {
          if (pattern.test(text)) finish();
          else if (exited) finish(new Error(`exited before printing ${pattern}:\n${text}`));
        };
        wakers.add(check);
        check();
      }),
  };
}

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // gone
  }
}

/** SIGTERM to each group still running, SIGKILL after `graceMs`. */
async function stopAll(children: Iterable<ChildProcess>, graceMs: number): Promise<void> {
  const list = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  const exited = list.map(
    (c) => new Promise<void>((resolve) => (c.exitCode !== null ? resolve() : c.once("close", () => resolve()))),
  );
  for (const c of list) signalGroup(c, "SIGTERM");
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
  await Promise.race([Promise.all(exited), timeout]);
  for (const c of list) signalGroup(c, "SIGKILL"); // the group: a job or launcher left behind too
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll(live, 3000);
    try {
      await server?.remove();
    } catch (error) {
      console.error(`removing the PostgreSQL server: ${(error as Error).message}`);
    }
    try {
      network?.remove();
    } catch (error) {
      console.error(`removing the network namespaces: ${(error as Error).message}`);
    }
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    console.error(`\n${signal}: stopping processes, removing the server and the namespaces ...`);
    void cleanup().finally(() => process.exit(130));
  });

// ---------------------------------------------------------------------------
// The workload, the databases, the events.

interface Workload {
  readonly n: number;
  readonly dir: string;
  readonly graph: string;
  readonly targets: readonly string[];
  readonly jobs: number;
}

let BIN = resolve(option("--bin", join(ROOT, "bin/databuild.js")));
const cpuWatch = new TreeCpuWatch(500);
const LOGS = join(OUT, "runs", new Date().toISOString().replace(/[:.]/g, "-"));

function workload(size: number, python: string): Workload {
  const dir = join(OUT, `w-${size}`);
  generateW(dir, size, ["w_config.py"]);
  const graph = join(dir, "databuild.yaml");
  writeFileSync(graph, wManifest(size, [python, "w_config.py"], "bench/workers-bench.ts"));
  const targets = wTargets(size);
  return { n: size, dir, graph, targets, jobs: 3 * size + targets.length };
}

/** Nothing built: gen_w.py's reset.sh, and no SQLite log. */
function reset(w: Workload): void {
  spawnSync("sh", [join(w.dir, "reset.sh")], { stdio: "ignore" });
  rmSync(join(w.dir, ".trash"), { recursive: true, force: true });
  for (const f of readdirSync(w.dir)) if (f.startsWith(".databuild-bench.db")) rmSync(join(w.dir, f), { force: true });
}

let dbCount = 0;
/** A fresh database on the server: its URL from this namespace (127.0.0.1) and from the hosts (the bridge). */
async function freshDatabase(): Promise<{ name: string; local: string; remote: string }> {
  const name = `bench_${++dbCount}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const local = server!.url(name);
  const remote = new URL(local);
  if (network) remote.hostname = network.serverAddress;
  return { name, local, remote: remote.href };
}

async function adminQuery(sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: server!.url() });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The postmaster's pid: the first line of <data dir>/postmaster.pid. */
function postmasterPid(): number {
  return Number(readFileSync(join(server!.dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
}

/** A proto3 JSON timestamp ("2026-12-01T10:00:00.123Z") in ms, with its fraction. */
function timestampMs(t: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-].*)$/.exec(t);
  if (!m) throw new Error(`timestamp ${t}`);
  return Date.parse(m[1]! + m[3]!) + (m[2] ? Number(m[2]) * 1000 : 0);
}

/** The steps of a job run, in order, as the events' timestamps show them (each step: from the previous one present). */
const STEPS = [
  ["jobScheduleSuccess", "scheduled"],
  ["jobRunOffered", "offered"],
  ["jobRunTaken", "taken"],
  ["configValidateSuccess", "wrapper started"],
  ["taskLaunchSuccess", "launched"],
  ["partitionManifest", "exited (manifest)"],
] as const;
/** The build's own next event about the run after its manifest (it marks the outputs available). */
const SEEN = "result seen by the build";

interface EventStats {
  events: number;
  manifests: number;
  distinct: number;
  delegations: number;
  /** Builds whose graphBuildSuccess counts more job runs than the manifests they logged. */
  holes: string[];
  runsBy: Map<string, number>; // build request id -> manifests
  buildOrder: string[]; // build request ids, in the order the log received them
  scheduleToLaunchMs: number[];
  offerToTakeMs: number[];
  /** Step name ("offered → taken") -> durations in ms. */
  steps: Map<string, number[]>;
  takenOn: Map<string, number>; // hostname -> job runs taken
}

/** The events of a run, or an error that shows what its build printed last. */
function eventsOf(w: Workload, db: string, label: string, procs: readonly BuildProc[]): EventStats {
  try {
    return readEvents(w, db, label);
  } catch (error) {
    const tails = procs
      .filter((p) => p.code !== 0)
      .map(
        (p) =>
          `build exited ${p.code ?? p.signal} (${p.log}):\n  ${p.output.trim().split("\n").slice(-8).join("\n  ")}`,
      );
    throw new Error(`${(error as Error).message}\n${tails.join("\n")}`, { cause: error });
  }
}

function readEvents(w: Workload, db: string, label: string): EventStats {
  const r = spawnSync(process.execPath, [BIN, "--graph", w.graph, "--db", db, "events", "--json"], {
    encoding: "utf8",
    maxBuffer: 2 * 1024 * 1024 * 1024,
    env: { ...cleanEnv(), DATABUILD_GRAPH: "", DATABUILD_DB: "" },
  });
  if (r.status !== 0) throw new Error(`databuild events failed (${r.status}): ${r.stderr}`);
  if (keepEvents) writeFileSync(join(LOGS, `${label}.events.jsonl`), r.stdout);
  const s: EventStats = {
    events: 0,
    manifests: 0,
    distinct: 0,
    delegations: 0,
    holes: [],
    runsBy: new Map(),
    buildOrder: [],
    scheduleToLaunchMs: [],
    offerToTakeMs: [],
    steps: new Map(),
    takenOn: new Map(),
  };
  const outputs = new Set<string>();
  const reported = new Map<string, number>();
  /** job run id -> kind -> first timestamp; and the first partitionStatusChanged after the manifest. */
  const runs = new Map<string, Map<string, number>>();
  const stepKinds = new Set<string>(STEPS.map(([kind]) => kind));
  for (const line of r.stdout.split("\n")) {
    if (!line) continue;
    s.events++;
    const e = JSON.parse(line);
    const kind = Object.keys(e).find((key) => !["eventId", "timestamp", "buildRequestId", "jobRunId"].includes(key));
    if (e.jobRunId && kind) {
      let run = runs.get(e.jobRunId);
      if (!run) runs.set(e.jobRunId, (run = new Map()));
      if (stepKinds.has(kind) && !run.has(kind)) run.set(kind, timestampMs(e.timestamp));
      else if (kind === "partitionStatusChanged" && run.has("partitionManifest") && !run.has(SEEN))
        run.set(SEEN, timestampMs(e.timestamp));
    }
    if (e.partitionManifest) {
      s.manifests++;
      s.runsBy.set(e.buildRequestId, (s.runsBy.get(e.buildRequestId) ?? 0) + 1);
      for (const o of e.partitionManifest.outputs ?? []) outputs.add(o.str);
    } else if (e.jobRunTaken) {
      const host = e.jobRunTaken.hostname ?? "?";
      s.takenOn.set(host, (s.takenOn.get(host) ?? 0) + 1);
    } else if (e.partitionDelegated) s.delegations++;
    else if (e.buildRequestReceived) s.buildOrder.push(e.buildRequestId);
    else if (e.graphBuildSuccess) reported.set(e.buildRequestId, e.graphBuildSuccess.jobsRun ?? 0);
  }
  const push = (step: string, ms: number) => {
    const list = s.steps.get(step);
    if (list) list.push(ms);
    else s.steps.set(step, [ms]);
  };
  for (const run of runs.values()) {
    const scheduled = run.get("jobScheduleSuccess");
    const launched = run.get("taskLaunchSuccess");
    if (scheduled !== undefined && launched !== undefined) s.scheduleToLaunchMs.push(launched - scheduled);
    const offered = run.get("jobRunOffered");
    const taken = run.get("jobRunTaken");
    if (offered !== undefined && taken !== undefined) s.offerToTakeMs.push(taken - offered);
    let previous: [string, number] | undefined;
    for (const [kind, name] of [...STEPS, [SEEN, SEEN] as const]) {
      const at = run.get(kind);
      if (at === undefined) continue;
      if (previous) push(`${previous[0]} → ${name}`, at - previous[1]);
      previous = [name, at];
    }
    if (scheduled !== undefined && run.has(SEEN)) push("total", run.get(SEEN)! - scheduled);
  }
  for (const [id, count] of reported)
    if (count > (s.runsBy.get(id) ?? 0))
      s.holes.push(`build ${id} reports ${count} job runs but logged ${s.runsBy.get(id) ?? 0} manifests`);
  s.distinct = outputs.size;
  return s;
}

function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
function ms(v: number): string {
  return !Number.isFinite(v) ? "" : v < 10 ? v.toFixed(1) : v.toFixed(0);
}
function latency(xs: readonly number[]): string {
  return xs.length === 0 ? "" : `${ms(quantile(xs, 0.5))} / ${ms(quantile(xs, 0.95))}`;
}

// ---------------------------------------------------------------------------
// Measuring.

interface Sample {
  wallS: number;
  /** PostgreSQL's CPU (postmaster and children), less that of this benchmark's own sampling session. */
  pgCpuS: number;
  machineS: number;
  workersS: number;
  /** WAL flushes (pg_stat_wal.wal_sync), and the time they took (track_wal_io_timing). */
  walSyncs: number;
  walSyncMs: number;
  /** Sessions of the run's database waiting on a lock (nearly all: the log's head row), sampled every 100 ms. */
  lockWaitersMean: number;
  lockWaitShare: number;
  /** Sessions waiting for their commit's WAL flush. */
  walWaitersMean: number;
  samples: number;
}

const sleep = (delayMs: number) => new Promise<void>((resolve) => setTimeout(resolve, delayMs));

/** Starts measuring one run: CPU counters now, and (on PostgreSQL) a sampler of pg_stat_activity; call the result at its end. */
async function meter(workers: readonly Proc[], database?: string): Promise<() => Promise<Sample>> {
  const cpu = () => ({
    at: performance.now(),
    pg: server ? treeCpuS([postmasterPid()]) : 0,
    machine: machineBusyS(),
    workers: treeCpuS(workers.map((w) => w.child.pid!)),
  });
  let sampler: pg.Client | undefined;
  let samplerPid = 0;
  if (database) {
    sampler = new pg.Client({ connectionString: server!.url() });
    await sampler.connect();
    samplerPid = (await sampler.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
  }
  const wal = async () => {
    if (!sampler) return { syncs: 0, ms: 0 };
    const { rows } = await sampler.query("SELECT wal_sync, wal_sync_time FROM pg_stat_wal");
    return { syncs: Number(rows[0].wal_sync), ms: Number(rows[0].wal_sync_time) };
  };
  let stop = false;
  let samples = 0;
  let lockWaiters = 0;
  let withLockWaiter = 0;
  let walWaiters = 0;
  const walBefore = await wal();
  const samplerBefore = samplerPid ? treeCpuS([samplerPid]) : 0;
  const before = cpu();
  const loop = (async () => {
    while (sampler && !stop) {
      const { rows } = await sampler.query(
        `SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') AS lock,
                count(*) FILTER (WHERE wait_event IN ('WALSync', 'WALWrite')) AS wal
           FROM pg_stat_activity WHERE datname = $1`,
        [database],
      );
      samples++;
      const lock = Number(rows[0].lock);
      lockWaiters += lock;
      if (lock > 0) withLockWaiter++;
      walWaiters += Number(rows[0].wal);
      await sleep(100);
    }
  })();
  return async () => {
    const after = cpu();
    stop = true;
    await loop;
    const samplerCpu = samplerPid ? treeCpuS([samplerPid]) - samplerBefore : 0;
    const walAfter = await wal();
    await sampler?.end();
    return {
      wallS: (after.at - before.at) / 1000,
      pgCpuS: after.pg - before.pg - samplerCpu,
      machineS: after.machine - before.machine,
      workersS: after.workers - before.workers,
      walSyncs: walAfter.syncs - walBefore.syncs,
      walSyncMs: walAfter.ms - walBefore.ms,
      lockWaitersMean: samples ? lockWaiters / samples : NaN,
      lockWaitShare: samples ? withLockWaiter / samples : NaN,
      walWaitersMean: samples ? walWaiters / samples : NaN,
      samples,
    };
  };
}

/** Transactions committed in `database` (pg_stat_database.xact_commit: read-only ones too), once its sessions ended. */
async function transactionsIn(database: string): Promise<number> {
  await sleep(500); // sessions that just ended flush their statistics as they exit
  const { rows } = await adminQuery(`SELECT xact_commit FROM pg_stat_database WHERE datname = '${database}'`);
  return Number(rows[0]?.xact_commit ?? NaN);
}

/** With --pg-statements: the statements of `database` that took the most time, printed. */
async function printStatements(database: string, label: string): Promise<void> {
  if (!pgStatements) return;
  const { rows } = await adminQuery(
    `SELECT calls, round(total_exec_time::numeric, 0) AS ms, round((total_exec_time / calls)::numeric, 3) AS per_call,
            rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS q
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
      WHERE d.datname = '${database}' ORDER BY total_exec_time DESC LIMIT 8`,
  );
  const lines = rows.map(
    (r) =>
      `      ${String(r.calls).padStart(7)} calls ${String(r.ms).padStart(7)} ms (${r.per_call} ms each, ${r.rows} rows) ${r.q}`,
  );
  console.log(`    statements of ${label}, by total time:\n${lines.join("\n")}`);
}

// ---------------------------------------------------------------------------
// Runs.

interface BuildProc {
  code: number | null;
  signal: string | null;
  exitS: number;
  /** The build process and everything it started (sampled), or what /usr/bin/time counted if more. */
  cpuS: number;
  log: string;
  output: string;
}

/** Runs `databuild build` (under a host, or here) in /usr/bin/time; resolves at its exit. */
function build(
  w: Workload,
  label: string,
  db: string,
  buildArgs: readonly string[],
  refs: readonly string[],
  t0: number,
  under: readonly string[] = [],
): Promise<BuildProc> {
  const log = join(LOGS, `${label}.log`);
  const timeFile = join(LOGS, `${label}.time`);
  const argv = [
    ...under,
    ...["timeout", "-s", "KILL", String(capS), "/usr/bin/time", "-f", "%e %U %S", "-o", timeFile],
    ...[process.execPath, BIN, "--graph", w.graph, "--db", db, "build", ...buildArgs, ...refs],
  ];
  const p = start(argv, log, w.dir);
  cpuWatch.watch(p.child.pid!);
  return p.done.then(({ code, signal }) => {
    // /usr/bin/time counts only the children the build reaped, not its job launcher (orphaned at its exit)
    // with the jobs that one reaped: the tree sampled every 0.5 s counts them, up to its last sample.
    let cpuS = cpuWatch.final(p.child.pid!);
    try {
      const [, u, sys] = readFileSync(timeFile, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
      cpuS = Math.max(cpuS, u! + sys!);
    } catch {
      // killed before time wrote it
    }
    return { code, signal, exitS: (performance.now() - t0) / 1000, cpuS, log, output: p.output() };
  });
}

interface Row {
  label: string;
  w: Workload;
  log: "SQLite" | "PostgreSQL";
  workers: string;
  j: number;
  sample: Sample;
  transactions: number;
  proc: BuildProc;
  events: EventStats;
  ok: boolean;
  note: string;
}

function reportsBuilt(w: Workload): number {
  return existsSync(join(w.dir, "report")) ? readdirSync(join(w.dir, "report")).length : 0;
}

function check(w: Workload, label: string, s: EventStats, proc: BuildProc): { ok: boolean; note: string } {
  const reports = reportsBuilt(w);
  const problems: string[] = [];
  if (proc.code !== 0) problems.push(`exit ${proc.code ?? proc.signal}`);
  if (s.manifests !== s.distinct) problems.push(`${s.manifests} job runs for ${s.distinct} partitions`);
  if (s.distinct !== w.jobs) problems.push(`${s.distinct}/${w.jobs} partitions`);
  if (reports !== w.targets.length) problems.push(`${reports}/${w.targets.length} reports`);
  problems.push(...s.holes);
  if (problems.length > 0) {
    const tail = proc.output.trim().split("\n").slice(-6).join("\n      ");
    console.log(`    PROBLEM in ${label}: ${problems.join("; ")}\n      ${tail}`);
  }
  return { ok: problems.length === 0, note: problems.join("; ") };
}

async function localRun(w: Workload, backend: "sqlite" | "postgres"): Promise<Row> {
  reset(w);
  const label = `local-${backend}`;
  const database = backend === "postgres" ? await freshDatabase() : undefined;
  const db = database?.local ?? join(w.dir, ".databuild-bench.db");
  const end = await meter([], database?.name);
  const proc = await build(w, label, db, ["-j", String(parallel)], w.targets, performance.now());
  const sample = await end();
  const events = eventsOf(w, db, label, [proc]);
  const transactions = database ? await transactionsIn(database.name) : NaN;
  if (database) await printStatements(database.name, label);
  if (database) await adminQuery(`DROP DATABASE ${database.name} WITH (FORCE)`);
  return {
    label: `local launcher, ${backend === "sqlite" ? "SQLite" : "PostgreSQL"}`,
    w,
    log: backend === "sqlite" ? "SQLite" : "PostgreSQL",
    workers: "",
    j: parallel,
    sample,
    transactions,
    proc,
    events,
    ...check(w, label, events, proc),
  };
}

async function workerRun(w: Workload, h: number): Promise<Row> {
  reset(w);
  const label = `workers-${h}`;
  const database = await freshDatabase();
  const hosts = network!.hosts.slice(0, h);
  const workers = hosts.map((host, i) =>
    start(
      [...host.under, process.execPath, BIN, "--db", database.remote, "worker", "--slots", String(parallel)],
      join(LOGS, `${label}-worker-${i + 1}.log`),
      w.dir,
    ),
  );
  let proc: BuildProc;
  let sample: Sample;
  try {
    await Promise.all(workers.map((worker) => worker.waitFor(/joined the pool/, 60_000)));
    const end = await meter(workers, database.name);
    const buildArgs = ["--launcher", "worker", "-j", String(parallel * h)];
    proc = await build(w, label, database.remote, buildArgs, w.targets, performance.now(), hosts[0]!.under);
    sample = await end();
  } finally {
    await stopAll(
      workers.map((worker) => worker.child),
      15_000,
    );
  }
  const events = eventsOf(w, database.local, label, [proc]);
  const transactions = await transactionsIn(database.name);
  await printStatements(database.name, label);
  await adminQuery(`DROP DATABASE ${database.name} WITH (FORCE)`);
  return {
    label: `--launcher worker, ${h} host${h > 1 ? "s" : ""}`,
    w,
    log: "PostgreSQL",
    workers: `${h} × ${parallel} slots`,
    j: parallel * h,
    sample,
    transactions,
    proc,
    events,
    ...check(w, label, events, proc),
  };
}

/** K windows of ⌈M/2⌉ consecutive targets, evenly offset from the first to the last (as concurrent-bench.ts). */
function windows(w: Workload, count: number): (readonly string[])[] {
  const size = Math.ceil(w.targets.length / 2);
  return Array.from({ length: count }, (_, i) => {
    const first = count === 1 ? 0 : Math.round((i * (w.targets.length - size)) / (count - 1));
    return w.targets.slice(first, first + size);
  });
}

interface ConcurrentRow {
  log: "SQLite" | "PostgreSQL";
  sample: Sample;
  transactions: number;
  procs: BuildProc[];
  events: EventStats;
  once: boolean;
  complete: boolean;
}

async function concurrentRun(w: Workload, backend: "sqlite" | "postgres"): Promise<ConcurrentRow> {
  reset(w);
  const label = `K${k}-${backend}`;
  const database = backend === "postgres" ? await freshDatabase() : undefined;
  const db = database?.local ?? join(w.dir, ".databuild-bench.db");
  const end = await meter([], database?.name);
  const t0 = performance.now();
  const procs = await Promise.all(
    windows(w, k).map((refs, i) => build(w, `${label}-${i}`, db, ["-j", String(parallel)], refs, t0)),
  );
  const sample = await end();
  const events = eventsOf(w, db, label, procs);
  const transactions = database ? await transactionsIn(database.name) : NaN;
  if (database) await printStatements(database.name, label);
  if (database) await adminQuery(`DROP DATABASE ${database.name} WITH (FORCE)`);
  const reports = reportsBuilt(w);
  const once = events.manifests === events.distinct && events.holes.length === 0;
  const complete = events.distinct === w.jobs && reports === w.targets.length;
  if (!once || !complete || procs.some((p) => p.code !== 0)) {
    console.log(
      `    PROBLEM in K = ${k} on ${backend}: ${events.manifests} job runs, ${events.distinct} partitions, ` +
        `${reports} reports; ${events.holes.join("; ")}`,
    );
    for (const p of procs.filter((p) => p.code !== 0))
      console.log(
        `      exit ${p.code ?? p.signal} (${p.log}):\n        ${p.output.trim().split("\n").slice(-6).join("\n        ")}`,
      );
  }
  const log = backend === "sqlite" ? "SQLite" : "PostgreSQL";
  return { log, sample, transactions, procs, events, once, complete };
}

// ---------------------------------------------------------------------------
// Tables.

function f2(v: number): string {
  return Number.isFinite(v) ? v.toFixed(2) : "";
}
function f1(v: number): string {
  return Number.isFinite(v) ? v.toFixed(1) : "";
}
const rate = (r: Row) => r.w.jobs / r.sample.wallS;

function tables(rows: readonly Row[], concurrent: readonly ConcurrentRow[], kw: Workload | undefined): string[] {
  const sizes = [...new Set(rows.map((r) => r.w.n))];
  const nColumn = sizes.length > 1;
  const base = rows.find((r) => r.log === "SQLite" && r.workers === "");
  const throughput = [
    `| run | log | workers | -j |${nColumn ? " N | jobs |" : ""} wall s | jobs/s | × local SQLite | schedule→launch ms, median / p95 | offer→take ms, median / p95 | job runs taken per host | exactly once |`,
    `| :-- | :-- | :-- | --: |${nColumn ? " --: | --: |" : ""} --: | --: | --: | --: | --: | :-- | :-- |`,
  ];
  for (const r of rows) {
    const taken = [...r.events.takenOn.entries()]
      .sort()
      .map(([h, c]) => `${h} ${c}`)
      .join(", ");
    throughput.push(
      `| ${r.label} | ${r.log} | ${r.workers} | ${r.j} |${nColumn ? ` ${r.w.n} | ${r.w.jobs} |` : ""} ${f2(r.sample.wallS)} | ` +
        `${rate(r).toFixed(0)} | ${base ? (rate(r) / rate(base)).toFixed(2) : ""} | ${latency(r.events.scheduleToLaunchMs)} | ` +
        `${latency(r.events.offerToTakeMs)} | ${taken} | ${r.ok ? "OK" : `**${r.note}**`} |`,
    );
  }
  // Where a job run's time goes: the median of each step, from the events' timestamps (ms resolution).
  const names = [...STEPS.map(([, name]) => name), SEEN];
  const stepNames = names.slice(0, -1).map((from, i) => `${from} → ${names[i + 1]}`);
  const present = stepNames.filter((step) => rows.some((r) => r.events.steps.has(step)));
  const steps = [
    `| run | ${present.join(" | ")} | total (scheduled → result seen) |`,
    `| :-- |${" --: |".repeat(present.length + 1)}`,
  ];
  for (const r of rows) {
    const cell = (step: string) => ms(quantile(r.events.steps.get(step) ?? [], 0.5));
    steps.push(`| ${r.label} | ${present.map(cell).join(" | ")} | ${cell("total")} |`);
  }
  const bg = (s: Sample, own: number) => (s.machineS - own) / s.wallS;
  const cpu = [
    "| run | wall s | PostgreSQL CPU s | PostgreSQL CPU ms per job | build CPU s | workers' CPU s | other CPUs (avg) |",
    "| :-- | --: | --: | --: | --: | --: | --: |",
  ];
  for (const r of rows) {
    const own = r.sample.pgCpuS + (Number.isFinite(r.proc.cpuS) ? r.proc.cpuS : 0) + r.sample.workersS;
    const pgRun = r.log === "PostgreSQL";
    cpu.push(
      `| ${r.label} | ${f2(r.sample.wallS)} | ${pgRun ? f2(r.sample.pgCpuS) : ""} | ` +
        `${pgRun ? f2((1000 * r.sample.pgCpuS) / r.w.jobs) : ""} | ${f2(r.proc.cpuS)} | ` +
        `${r.workers ? f2(r.sample.workersS) : ""} | ${f2(bg(r.sample, own))} |`,
    );
  }
  const pgTable = [
    "| run | PostgreSQL CPU s | transactions per job | WAL flushes per job | mean flush ms | sessions waiting on a lock: mean; share of samples | sessions waiting on a WAL flush: mean |",
    "| :-- | --: | --: | --: | --: | --: | --: |",
  ];
  const pgRow = (label: string, s: Sample, transactions: number, jobs: number) =>
    pgTable.push(
      `| ${label} | ${f2(s.pgCpuS)} | ${f1(transactions / jobs)} | ${f2(s.walSyncs / jobs)} | ` +
        `${s.walSyncs ? f2(s.walSyncMs / s.walSyncs) : ""} | ${f2(s.lockWaitersMean)}; ${(100 * s.lockWaitShare).toFixed(0)} % | ` +
        `${f2(s.walWaitersMean)} |`,
    );
  for (const r of rows) if (r.log === "PostgreSQL") pgRow(r.label, r.sample, r.transactions, r.w.jobs);
  for (const c of concurrent)
    if (c.log === "PostgreSQL" && kw)
      pgRow(`K = ${k} builds at once, local launcher`, c.sample, c.transactions, kw.jobs);
  const kTable = [
    "| log | processes | wall s | each exits at s | exit codes | job runs | job runs per build (in the order received) | distinct partitions | exactly once | delegations | PostgreSQL CPU s | builds' CPU s | other CPUs (avg) |",
    "| :-- | :-- | --: | --: | :-- | --: | :-- | --: | :-- | --: | --: | --: | --: |",
  ];
  for (const c of concurrent) {
    const exits = c.procs.map((p) => p.exitS);
    const builds = c.procs.reduce((a, p) => a + (Number.isFinite(p.cpuS) ? p.cpuS : 0), 0);
    const perBuild = c.events.buildOrder.map((id) => c.events.runsBy.get(id) ?? 0).join("/");
    kTable.push(
      `| ${c.log} | ${k} processes, ${windows(kw!, k)[0]!.length} targets each | ${f2(c.sample.wallS)} | ` +
        `${f1(Math.min(...exits))}–${f1(Math.max(...exits))} | ${c.procs.map((p) => p.code ?? p.signal).join(",")} | ` +
        `${c.events.manifests} | ${perBuild} | ${c.events.distinct} | ${c.once && c.complete ? "OK" : "**VIOLATION**"} | ` +
        `${c.events.delegations} | ${c.log === "PostgreSQL" ? f2(c.sample.pgCpuS) : ""} | ${f2(builds)} | ` +
        `${f2(bg(c.sample, builds + c.sample.pgCpuS))} |`,
    );
  }
  const sizesText = sizes.map((size) => `N = ${size}: ${rows.find((r) => r.w.n === size)!.w.jobs} jobs`).join("; ");
  const out = [
    `One build of every target from nothing built (${sizesText}):`,
    "",
    ...throughput,
    "",
    "Where a job run's time goes: the median of each step, in ms, from the events' timestamps (1 ms resolution):",
    "",
    ...steps,
    "",
    "CPU time during each build (build CPU: the build's process tree, its job launcher and jobs included, sampled every 0.5 s; " +
      "other CPUs: the machine's busy time less the columns before, per second of wall time):",
    "",
    ...cpu,
    "",
    "PostgreSQL during each run (transactions of the run's database from pg_stat_database, read-only ones included; " +
      "WAL flushes from pg_stat_wal; waits sampled from pg_stat_activity every 100 ms):",
    "",
    ...pgTable,
  ];
  if (concurrent.length > 0 && kw)
    out.push(
      "",
      `K = ${k} builds at once of overlapping halves of the ${kw.targets.length} targets (N = ${kw.n}, local launcher, -j ${parallel} each):`,
      "",
      ...kTable,
    );
  return out;
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const why = canMakeNamespaces();
  if (why) throw new Error(`this benchmark makes network namespaces: ${why}`);
  if (!existsSync("/usr/bin/time")) throw new Error("needs GNU time (/usr/bin/time): apt-get install time");
  const t0 = performance.now();
  if (freeze) BIN = join(frozenTree(), "bin/databuild.js");
  mkdirSync(LOGS, { recursive: true });
  const python = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).stdout.trim();
  const w = workload(n, python);
  const ww = workerN === n ? w : workload(workerN, python);

  const maxHosts = Math.max(0, ...hostCounts);
  network = makeTestNetwork(Array.from({ length: maxHosts }, (_, i) => `h${i + 1}`));
  server = await startPostgresServer({
    durable: true,
    settings: {
      listen_addresses: `127.0.0.1,${network.serverAddress}`,
      track_wal_io_timing: "on",
      ...(pgStatements ? { shared_preload_libraries: "pg_stat_statements", "pg_stat_statements.track": "all" } : {}),
    },
  });
  if (pgStatements) await adminQuery("CREATE EXTENSION pg_stat_statements");
  // The hosts reach the server through the bridge (as src/workers/multi-host.test.ts does).
  const { rows: hba } = await adminQuery("SELECT current_setting('hba_file') AS file");
  await adminQuery(
    `COPY (SELECT * FROM (VALUES ('host all all ${network.cidr} trust')) v) TO PROGRAM 'cat >> ${hba[0]!.file}'`,
  );
  await adminQuery("SELECT pg_reload_conf()");
  const version = String((await adminQuery("SHOW server_version")).rows[0]!.server_version).split(" ")[0];
  const settings = (
    await adminQuery(
      "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) AS s FROM pg_settings " +
        "WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'shared_buffers')",
    )
  ).rows[0]!.s as string;

  const header = [
    `workers and PostgreSQL: W (executable jobs: touch) with N = ${n}${workerN !== n ? ` (worker rows: N = ${workerN})` : ""}, ` +
      `-j ${parallel} per host / --slots ${parallel} per worker, K = ${k}, ${cpus().length} CPUs, ` +
      `commit ${commit}${freeze ? " (frozen copy)" : ""}, PostgreSQL ${version} (${settings}), ${new Date().toISOString()}`,
    `NOTE: every "host" is a network namespace on this one machine: all of them share its ${cpus().length} CPUs, ` +
      `so more hosts add coordination, not capacity.`,
    "",
  ].join("\n");
  console.log(header);

  const rows: Row[] = [];
  const say = (r: Row) =>
    console.log(
      `  ${r.label} (N = ${r.w.n}): ${r.sample.wallS.toFixed(2)} s, ${rate(r).toFixed(0)} jobs/s, ` +
        `PG CPU ${r.sample.pgCpuS.toFixed(2)} s, build CPU ${f2(r.proc.cpuS)} s, workers ${r.sample.workersS.toFixed(2)} s, ` +
        `schedule→launch ${latency(r.events.scheduleToLaunchMs)} ms, offer→take ${latency(r.events.offerToTakeMs)} ms` +
        `${r.ok ? "" : " FAILED"}`,
    );
  for (const backend of ["sqlite", "postgres"] as const) {
    rows.push(await localRun(w, backend));
    say(rows.at(-1)!);
  }
  for (const h of hostCounts) {
    rows.push(await workerRun(ww, h));
    say(rows.at(-1)!);
  }
  const concurrent: ConcurrentRow[] = [];
  for (const backend of k > 0 ? (["sqlite", "postgres"] as const) : []) {
    const c = await concurrentRun(w, backend);
    concurrent.push(c);
    console.log(
      `  K = ${k} on ${c.log}: ${c.sample.wallS.toFixed(2)} s, exits ${c.procs.map((p) => p.code ?? p.signal).join(",")}, ` +
        `${c.events.manifests} job runs, ${c.events.distinct} partitions, PG CPU ${c.sample.pgCpuS.toFixed(2)} s` +
        `${c.once ? "" : " VIOLATION"}${c.complete ? "" : " INCOMPLETE"}`,
    );
  }
  const minutes = (performance.now() - t0) / 60_000;
  const text = [
    header,
    ...tables(rows, concurrent, w),
    "",
    `whole run: ${minutes.toFixed(1)} min; each process's output in ${LOGS}`,
  ].join("\n");
  console.log("\n" + text);
  writeFileSync(join(OUT, "results.md"), text + "\n");
  if (rows.some((r) => !r.ok) || concurrent.some((c) => !c.once || !c.complete || c.procs.some((p) => p.code !== 0)))
    process.exitCode = 1;
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanup();
}
