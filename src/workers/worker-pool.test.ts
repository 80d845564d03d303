/**
 * The worker pool with real processes: `databuild worker` processes and
 * `databuild build --launcher worker` sharing one log (a SQLite file, and a
 * database on the test run's PostgreSQL server), running the bash jobs of
 * fixtures/pool-graph, which append a start and an end line per run to
 * data/runs.log.
 */
import { cpSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { BuildEvent } from "../gen/databuild_pb.ts";
import { ExitCategory } from "../gen/databuild_pb.ts";
import { diagramViolations, eventsByBuild } from "../core/diagrams/diagram-paths.ts";
import { killCliProcesses, startCli, type CliProcess } from "../testing/cli-process.ts";
import { LOG_BACKENDS, type LogBackend } from "../testing/log-backends.ts";
import { isRunning, waitUntil } from "../testing/processes.ts";
import { runDatabuild, tempDir } from "../testing/run-cli.ts";
import { poolRuns, type PoolRun } from "./fixtures/pool-runs.ts";

const FIXTURE = join(import.meta.dirname, "fixtures", "pool-graph");
/** Short leases, so that a lost worker is noticed within seconds; 6 s, as a worker stops its jobs a third of the way into a lease it cannot renew, and a loaded CI machine delays heartbeats past 1 s. */
const WORKER_FLAGS = ["--heartbeat", "0.2", "--heartbeat-timeout", "6"];

afterEach(() => killCliProcesses());

interface Pool {
  readonly dir: string;
  readonly db: string;
  worker(args?: readonly string[], env?: NodeJS.ProcessEnv): Promise<CliProcess>;
  build(args: readonly string[], env?: NodeJS.ProcessEnv): CliProcess;
  events(): Promise<BuildEvent[]>;
  /** data/runs.log: one "start|end REF JOB_RUN_ID PID NANOS" line per step. */
  runs(): PoolRun[];
}

async function pool(backend: LogBackend): Promise<Pool> {
  const dir = tempDir("databuild-pool-");
  cpSync(FIXTURE, dir, { recursive: true });
  const db = await backend.freshLocation(dir);
  return {
    dir,
    db,
    async worker(args = [], env = {}) {
      const worker = startCli(["--db", db, "worker", ...WORKER_FLAGS, ...args], { cwd: dir, env });
      await worker.waitFor(/joined the pool/);
      return worker;
    },
    build: (args, env = {}) =>
      startCli(["--db", db, "build", "--launcher", "worker", "--heartbeat", "0.2", ...args], { cwd: dir, env }),
    async events() {
      const log = await backend.open(db, { readOnly: true });
      try {
        return (await log.read(0)).map((l) => l.event);
      } finally {
        await log.close();
      }
    },
    runs: () => poolRuns(dir),
  };
}

function ofCase<C extends NonNullable<BuildEvent["event"]["case"]>>(events: readonly BuildEvent[], kind: C) {
  return events.filter((e) => e.event.case === kind);
}

/** Every offered run was taken at most once, and every partition's job started once per job run. */
function expectEachOfferTakenOnce(events: readonly BuildEvent[]): void {
  const takes = new Map<string, number>();
  for (const e of ofCase(events, "jobRunTaken")) takes.set(e.jobRunId, (takes.get(e.jobRunId) ?? 0) + 1);
  expect([...takes.values()].every((n) => n === 1)).toBe(true);
  // ...and only offers are taken.
  const offered = new Set(ofCase(events, "jobRunOffered").map((e) => e.jobRunId));
  for (const id of takes.keys()) expect(offered.has(id), id).toBe(true);
}

function expectValidPaths(events: readonly BuildEvent[]): void {
  for (const [id, own] of eventsByBuild(events)) expect(diagramViolations(own), `build request ${id}`).toEqual([]);
}

describe.each(LOG_BACKENDS)("the worker pool on $name", (backend) => {
  it("two workers run the jobs of two overlapping builds: each partition once, each offer taken once", async () => {
    const p = await pool(backend);
    // One slot each: with four parts ready at once, both must take some.
    await p.worker(["--slots", "1"]);
    await p.worker(["--slots", "1"]);
    const env = { POOL_JOB_SECONDS: "0.3" };
    const [a, b] = [p.build(["total/n=4"], env), p.build(["total/n=3"], env)];
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const starts = p.runs().filter((r) => r.kind === "start");
    expect(starts.map((r) => r.ref).sort()).toEqual(
      ["part/n=1", "part/n=2", "part/n=3", "part/n=4", "total/n=3", "total/n=4"].sort(),
    );
    const events = await p.events();
    expectEachOfferTakenOnce(events);
    // Every job ran on a worker: both workers took some.
    const takers = new Set(ofCase(events, "jobRunTaken").map((e) => (e.event.value as { workerId: string }).workerId));
    expect(takers.size).toBe(2);
    expect(ofCase(events, "jobRunTaken")).toHaveLength(6);
    expectValidPaths(events);
  });

  it("a worker killed with -9 mid-job: its run is declared lost once and runs again elsewhere, never twice at once", async () => {
    const p = await pool(backend);
    const env = { POOL_SLOW_N: "1", POOL_SLOW_SECONDS: "30" };
    const first = await p.worker(["--slots", "1"], env);
    const build = p.build(["--retries", "1", "part/n=1"], env);
    await first.waitFor(/took part/);
    const second = await p.worker(["--slots", "1"], { POOL_SLOW_N: "1", POOL_SLOW_SECONDS: "0.2" });
    await waitUntil(() => p.runs().some((r) => r.kind === "start"), 20_000);
    const lostPid = p.runs()[0]!.pid;
    first.child.kill("SIGKILL");
    const result = await build.done;
    expect(result.code, result.stderr).toBe(0);
    await second.waitFor(/succeeded/);
    const runs = p.runs();
    expect(runs.filter((r) => r.kind === "start")).toHaveLength(2);
    expect(runs.filter((r) => r.kind === "end")).toHaveLength(1);
    // The lost run's job was gone before the second one started.
    expect(isRunning(lostPid)).toBe(false);
    const events = await p.events();
    const lost = ofCase(events, "workerLost");
    expect(lost).toHaveLength(1);
    expect(lost[0]!.event.value).toMatchObject({ reason: expect.stringMatching(/is gone/) });
    const execFails = ofCase(events, "jobExecFail");
    expect(execFails.map((e) => (e.event.value as { category: ExitCategory }).category)).toEqual([
      ExitCategory.EXIT_LOST,
    ]);
    expectEachOfferTakenOnce(events);
    expectValidPaths(events);
  });

  it("a job needing a label no live worker has waits, said so, until such a worker joins", async () => {
    const p = await pool(backend);
    await p.worker(["--slots", "1"]);
    const build = p.build(["gpu/n=1"]);
    await build.waitFor(/waits for a worker: it needs label gpu=yes, and the live workers \(1\) lack what it needs/);
    expect(p.runs()).toEqual([]);
    const status = await runDatabuild(["--db", p.db, "status", "gpu/n=1"], { cwd: p.dir });
    expect(status.stdout).toMatch(/was offered to the worker pool .* ago, and no worker has taken it yet/);
    const gpu = await p.worker(["--label", "gpu=yes"]);
    const result = await build.done;
    expect(result.code, result.stderr).toBe(0);
    expect(gpu.output()).toMatch(/took gpu/);
    const events = await p.events();
    expect(ofCase(events, "jobRunTaken")).toHaveLength(1);
  });

  it("with no worker at all, the build says how to start one", async () => {
    const p = await pool(backend);
    const build = p.build(["part/n=1"]);
    await build.waitFor(/no worker is running on this log \(start one: databuild worker --db \.\.\.\)/);
    await p.worker();
    expect((await build.done).code).toBe(0);
  });

  // On SQLite a process paused inside a write transaction (a worker heartbeats five times a second) holds the
  // file's write lock until it resumes, and every other writer gives up: only a server can end its session.
  it.skipIf(backend.name === "sqlite")(
    "a worker paused past its lease is declared lost, its job killed; resumed, it records nothing more of the run and joins again",
    async () => {
      const p = await pool(backend);
      const env = { POOL_SLOW_N: "1", POOL_SLOW_SECONDS: "30" };
      const paused = await p.worker(["--slots", "1"], env);
      const build = p.build(["--retries", "1", "part/n=1"], env);
      await paused.waitFor(/took part/);
      await waitUntil(() => p.runs().some((r) => r.kind === "start"), 20_000);
      const lostRun = p.runs()[0]!;
      paused.child.kill("SIGSTOP");
      const other = await p.worker(["--slots", "1"], { POOL_SLOW_N: "1", POOL_SLOW_SECONDS: "0.2" });
      const result = await build.done;
      expect(result.code, result.stderr).toBe(0);
      await other.waitFor(/succeeded/);
      // Declared lost on this host: the job process it left was killed.
      expect(isRunning(lostRun.pid)).toBe(false);
      paused.child.kill("SIGCONT");
      await paused.waitFor(/was declared lost by/);
      await paused.waitFor(/joined the pool[^]*joined the pool/);
      const events = await p.events();
      expect(ofCase(events, "workerLost")).toHaveLength(1);
      const lostIndex = events.findIndex((e) => e.event.case === "workerLost");
      expect(events.slice(lostIndex + 3).filter((e) => e.jobRunId === lostRun.jobRunId)).toEqual([]);
      expect(ofCase(events, "workerStarted")).toHaveLength(3);
      expectValidPaths(events);
    },
  );

  it("a build killed with -9 while a worker runs its job: the job finishes and is recorded, and the next build does not run it again", async () => {
    const p = await pool(backend);
    const env = { POOL_SLOW_N: "1", POOL_SLOW_SECONDS: "2" };
    const worker = await p.worker(["--slots", "2"], env);
    const killed = p.build(["total/n=2"], env);
    await waitUntil(() => p.runs().some((r) => r.ref === "part/n=1"), 20_000);
    killed.child.kill("SIGKILL");
    await worker.waitFor(/part \(job run [^)]*\) succeeded[^]*part \(job run [^)]*\) succeeded/);
    const next = p.build(["total/n=2"], env);
    const result = await next.done;
    expect(result.code, result.stderr).toBe(0);
    const starts = p.runs().filter((r) => r.kind === "start");
    expect(starts.map((r) => r.ref).sort()).toEqual(["part/n=1", "part/n=2", "total/n=2"]);
    expectValidPaths(await p.events());
  });

  it("SIGTERM lets a running job finish, then the worker leaves the pool", async () => {
    const p = await pool(backend);
    const env = { POOL_SLOW_N: "1", POOL_SLOW_SECONDS: "1" };
    const worker = await p.worker([], env);
    const build = p.build(["part/n=1"], env);
    await worker.waitFor(/took part/);
    worker.child.kill("SIGTERM");
    const [w, b] = await Promise.all([worker.done, build.done]);
    expect(w.code).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(w.stderr).toMatch(/finishing 1 running job run/);
    const events = await p.events();
    expect(ofCase(events, "workerStopped")).toHaveLength(1);
    expect(ofCase(events, "workerLost")).toHaveLength(0);
  });
});
