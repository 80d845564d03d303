/**
 * Workers on several hosts: network namespaces on this machine, each with
 * its own host name, reaching a PostgreSQL server that listens on the test
 * network from the test's own namespace (the database host). Real worker and
 * build processes run the bash jobs of fixtures/pool-graph, which log each
 * run's start, end or stop (with the time) to data/runs.log.
 */
import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildEvent } from "../gen/databuild_pb.ts";
import { diagramViolations, eventsByBuild } from "../core/diagrams/diagram-paths.ts";
import { openPostgresEventLog } from "../event-log/index.ts";
import { killCliProcesses, startCli, type CliProcess } from "../testing/cli-process.ts";
import { freshDatabase } from "../testing/fresh-database.ts";
import { canMakeNamespaces, makeTestNetwork, type TestHost, type TestNetwork } from "../testing/network-namespaces.ts";
import { startPostgresServer, type PostgresServer } from "../testing/postgres-server.ts";
import { waitUntil } from "../testing/processes.ts";
import { tempDir } from "../testing/run-cli.ts";
import { poolRuns } from "./fixtures/pool-runs.ts";

const FIXTURE = join(import.meta.dirname, "fixtures", "pool-graph");
const unavailable = canMakeNamespaces();

describe.skipIf(unavailable !== undefined)("workers on three hosts", () => {
  let network: TestNetwork;
  let server: PostgresServer;
  let h1: TestHost;
  let h2: TestHost;

  beforeAll(async () => {
    network = makeTestNetwork(["h1", "h2"]);
    [h1, h2] = network.hosts as [TestHost, TestHost];
    server = await startPostgresServer({ settings: { listen_addresses: `127.0.0.1,${network.serverAddress}` } });
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ file: string }>("SELECT current_setting('hba_file') AS file");
      await admin.query(
        `COPY (SELECT * FROM (VALUES ('host all all ${network.cidr} trust')) v) TO PROGRAM 'cat >> ${rows[0]!.file}'`,
      );
      await admin.query("SELECT pg_reload_conf()");
    } finally {
      await admin.end();
    }
  }, 60_000);

  afterAll(async () => {
    killCliProcesses();
    await server?.remove();
    network?.remove();
  });

  /** A fresh project folder and database; processes on `host` reach it by the network. */
  async function project() {
    const dir = tempDir("databuild-hosts-");
    cpSync(FIXTURE, dir, { recursive: true });
    const database = await freshDatabase(server.url());
    const url = new URL(database.url);
    url.hostname = network.serverAddress;
    const db = url.href;
    const start = (host: TestHost, args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess =>
      startCli(["--db", db, ...args], { cwd: dir, env, under: host.under });
    return {
      dir,
      db,
      async worker(host: TestHost, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}) {
        const worker = start(host, ["worker", "--heartbeat", "0.2", "--heartbeat-timeout", "3", ...args], env);
        await worker.waitFor(/joined the pool/);
        return worker;
      },
      build: (host: TestHost, args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
        start(host, ["build", "--launcher", "worker", "--heartbeat", "0.2", "--kill-grace", "0.5", ...args], env),
      async events(): Promise<BuildEvent[]> {
        const log = await openPostgresEventLog(database.url, { readOnly: true, listen: false });
        try {
          return (await log.read(0)).map((l) => l.event);
        } finally {
          await log.close();
        }
      },
      runs: () => poolRuns(dir),
    };
  }

  function takenOn(events: readonly BuildEvent[]): string[] {
    return events.flatMap((e) => (e.event.case === "jobRunTaken" ? [e.event.value.hostname] : []));
  }

  function expectValidPaths(events: readonly BuildEvent[]): void {
    for (const [id, own] of eventsByBuild(events)) expect(diagramViolations(own), `build request ${id}`).toEqual([]);
  }

  it("builds started on two hosts, workers on both: every partition built once, on either host", async () => {
    const p = await project();
    await p.worker(h1, ["--slots", "2"]);
    await p.worker(h2, ["--slots", "2"]);
    const env = { POOL_JOB_SECONDS: "0.3" };
    const [a, b] = await Promise.all([p.build(h1, ["total/n=6"], env).done, p.build(h2, ["total/n=5"], env).done]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const starts = p.runs().filter((r) => r.kind === "start");
    const expected = [1, 2, 3, 4, 5, 6].map((n) => `part/n=${n}`).concat(["total/n=5", "total/n=6"]);
    expect(starts.map((r) => r.ref).sort()).toEqual(expected.sort());
    for (const ref of expected) expect(existsSync(join(p.dir, "data", `${ref}.txt`)), ref).toBe(true);
    const events = await p.events();
    expect(new Set(takenOn(events))).toEqual(new Set(["h1", "h2"]));
    expect(takenOn(events)).toHaveLength(expected.length);
    expectValidPaths(events);
  });

  it("a worker whose link is cut stops its job, is declared lost, and the job runs again on the other host, never at once", async () => {
    const p = await project();
    const slow = { POOL_SLOW_N: "1", POOL_SLOW_SECONDS: "60" };
    const cut = await p.worker(h1, ["--slots", "1"], slow);
    const build = p.build(h2, ["--retries", "1", "part/n=1"], slow);
    await cut.waitFor(/took part/);
    await waitUntil(() => p.runs().some((r) => r.kind === "start"), 20_000);
    const other = await p.worker(h2, ["--slots", "1"], { POOL_SLOW_N: "1", POOL_SLOW_SECONDS: "0.2" });
    h1.setLink(false);
    try {
      await cut.waitFor(/cannot reach the event log for .*: stopping its 1 job run/, 15_000);
      const result = await build.done;
      expect(result.code, result.stderr).toBe(0);
      await other.waitFor(/succeeded/);
    } finally {
      h1.setLink(true);
    }
    const runs = p.runs();
    const [first, second] = runs.filter((r) => r.kind === "start");
    const stopped = runs.find((r) => r.kind === "killed" && r.jobRunId === first!.jobRunId);
    expect(stopped, runs.map((r) => `${r.kind} ${r.jobRunId} ${r.atNs}`).join("\n")).toBeDefined();
    // The cut worker's job had stopped before its rerun began.
    expect(stopped!.atNs < second!.atNs).toBe(true);
    expect(runs.filter((r) => r.kind === "end").map((r) => r.jobRunId)).toEqual([second!.jobRunId]);
    // Back on the network, the cut worker learns it was declared lost and joins again.
    await cut.waitFor(/was declared lost by/, 15_000);
    await cut.waitFor(/joined the pool[^]*joined the pool/, 15_000);
    const events = await p.events();
    const lost = events.filter((e) => e.event.case === "workerLost");
    expect(lost).toHaveLength(1);
    expect(lost[0]!.event.value).toMatchObject({ reason: expect.stringMatching(/no heartbeat/) });
    expectValidPaths(events);
  });

  it("a worker on another host killed with -9: declared lost when its lease runs out, its job runs again on the other host", async () => {
    const p = await project();
    const slow = { POOL_SLOW_N: "1", POOL_SLOW_SECONDS: "60" };
    const killed = await p.worker(h1, ["--slots", "1"], slow);
    const build = p.build(h2, ["--retries", "1", "total/n=2"], slow);
    await killed.waitFor(/took part/);
    await waitUntil(() => p.runs().some((r) => r.ref === "part/n=1"), 20_000);
    await p.worker(h2, ["--slots", "2"], { POOL_SLOW_N: "1", POOL_SLOW_SECONDS: "0.2" });
    killed.child.kill("SIGKILL");
    const result = await build.done;
    expect(result.code, result.stderr).toBe(0);
    const events = await p.events();
    const lost = events.filter((e) => e.event.case === "workerLost");
    expect(lost).toHaveLength(1);
    // Another host cannot see its process: only the lease tells.
    expect(lost[0]!.event.value).toMatchObject({ reason: expect.stringMatching(/no heartbeat/) });
    const parts = p.runs().filter((r) => r.kind === "end" && r.ref.startsWith("part/"));
    expect(parts.map((r) => r.ref).sort()).toEqual(["part/n=1", "part/n=2"]);
    expect(takenOn(events).filter((h) => h === "h1").length).toBeGreaterThanOrEqual(1);
    expectValidPaths(events);
  });

  it("PostgreSQL stopped for a few seconds mid-build: the build and the workers ride it out, each partition built once", async () => {
    const p = await project();
    const env = { POOL_JOB_SECONDS: "0.5" };
    const lease = ["--heartbeat-timeout", "15"];
    await p.worker(h1, ["--slots", "2", ...lease], env);
    await p.worker(h2, ["--slots", "2", ...lease], env);
    const build = p.build(h1, ["--heartbeat-timeout", "15", "total/n=8"], env);
    await waitUntil(() => p.runs().filter((r) => r.kind === "end").length >= 2, 20_000);
    await server.stop("immediate");
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await server.start();
    const result = await build.done;
    expect(result.code, result.stderr).toBe(0);
    const starts = p.runs().filter((r) => r.kind === "start");
    expect(new Set(starts.map((r) => r.ref)).size).toBe(starts.length);
    expect(starts).toHaveLength(9);
    expectValidPaths(await p.events());
  });
});
