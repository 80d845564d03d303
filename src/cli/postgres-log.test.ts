// The CLI on a PostgreSQL event log, as a user runs it: the real bin, real
// jobs, `--db postgres://...` or $DATABUILD_DB, on the run's server.
import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { admin, freshDatabase, type FreshDatabase } from "../testing/fresh-database.ts";
import { POSTGRES_BACKEND } from "../testing/log-backends.ts";
import { manifestJob, manifestProject } from "../testing/manifest-project.ts";
import { startPostgresServer, type PostgresServer } from "../testing/postgres-server.ts";
import { REPO_ROOT, runDatabuild, tempDir } from "../testing/run-cli.ts";

const databases: FreshDatabase[] = [];
afterEach(async () => {
  for (const db of databases.splice(0)) await db.drop();
});

async function database(): Promise<FreshDatabase> {
  const db = await freshDatabase();
  databases.push(db);
  return db;
}

/** examples/basic (a manifest with Python and bash jobs) in a fresh folder. */
function basicExample(): string {
  const dir = tempDir();
  const example = join(REPO_ROOT, "examples/basic");
  cpSync(example, dir, {
    recursive: true,
    filter: (src) => !/^\/(data|\.databuild)(\/|$)/.test(src.slice(example.length)),
  });
  return dir;
}

describe("databuild on a PostgreSQL event log", () => {
  it("build with --db postgres://..., then status, events, builds and a no-op build on the same URL", async () => {
    const db = await database();
    const dir = basicExample();
    const graph = ["--graph", join(dir, "databuild.yaml")];
    const first = await runDatabuild([...graph, "build", "summary/month=2024-01", "--db", db.url]);
    expect(first.stderr).toContain("Build completed: built 15 partitions in 15 jobs");
    expect(first.code, first.stderr).toBe(0);
    // The hint names the same log.
    expect(first.stderr).toContain(`--db ${db.url}`);

    const status = await runDatabuild([...graph, "--db", db.url, "status", "--json", "summary/month=2024-01"]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).status).toBe("PARTITION_AVAILABLE");
    const events = await runDatabuild(["--db", db.url, "events"]);
    expect(events.code, events.stderr).toBe(0);
    expect(events.stdout.trim().split("\n").at(-1)).toContain("build request completed");
    const builds = await runDatabuild(["--db", db.url, "builds"]);
    expect(builds.code, builds.stderr).toBe(0);
    expect(builds.stdout).toMatch(/completed.*15 built, 0 failed/);
    const again = await runDatabuild([
      ...graph,
      "--db",
      db.url.replace("postgres://", "postgresql://"),
      "build",
      "summary/month=2024-01",
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("Nothing to do: the requested partition is already available.");
    // Nothing went to a file beside the graph.
    const log = await POSTGRES_BACKEND.open(db.url, { readOnly: true });
    try {
      expect(await log.head()).toBeGreaterThan(0);
    } finally {
      await log.close();
    }
  });

  it("takes the URL from $DATABUILD_DB; --db wins over it", async () => {
    const [db, other] = [await database(), await database()];
    const dir = basicExample();
    const env = { DATABUILD_DB: db.url };
    const build = await runDatabuild(["build", "numbers/date=2024-01-01"], { cwd: dir, env });
    expect(build.code, build.stderr).toBe(0);
    const builds = await runDatabuild(["builds"], { cwd: dir, env });
    expect(builds.stdout).toMatch(/completed/);
    // --db names another, empty database: no log there (a read command does not create one).
    const elsewhere = await runDatabuild(["--db", other.url, "builds"], { cwd: dir, env });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain(`no build event log at ${other.url}`);
    expect(await POSTGRES_BACKEND.exists(other.url)).toBe(false);
  });

  it("a wrong URL exits 2, an unreachable server 3; neither prints the password", async () => {
    const bad = await runDatabuild(["--db", "postgres://ada:hunter2@[nope/db", "builds"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot open the event log: it is not a valid URL/);
    expect(bad.stderr).not.toContain("hunter2");
    const refused = await runDatabuild(["--db", "postgres://ada:hunter2@127.0.0.1:1/db", "builds"]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("postgres://ada@127.0.0.1:1/db: the event log's database server is unavailable");
    expect(refused.stderr).toContain("nothing accepts connections at 127.0.0.1:1 (ECONNREFUSED)");
    expect(refused.stderr).not.toContain("hunter2");
  });

  it("hints repeat --db without the password", async () => {
    const db = await database();
    const dir = basicExample();
    const url = new URL(db.url);
    url.password = "hunter2"; // the test server trusts local connections: never asked for
    const build = await runDatabuild(["--db", url.href, "build", "numbers/date=2024-01-01"], { cwd: dir });
    expect(build.code, build.stderr).toBe(0);
    expect(build.stderr).toContain(`--db ${db.url}`);
    expect(build.stderr + build.stdout).not.toContain("hunter2");
  });
});

describe("a build whose PostgreSQL server goes away", () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgresServer();
  });
  afterAll(async () => {
    await server?.remove();
  });

  it("stops with exit 3 naming the server; after a restart, a rebuild finishes the work", async () => {
    await admin(server.url(), `CREATE DATABASE build_log`);
    const env = { DATABUILD_DB: server.url("build_log") };
    const refs = Array.from({ length: 12 }, (_, i) => `w/${i}`);
    const dir = manifestProject({
      "databuild.yaml": `name: stopped\njobs:\n${manifestJob("w", "w/{x}", ["env", "SLEEP=0.3", "jobs/write.sh"])}`,
      "jobs/write.sh": WRITE_SH,
    });
    // A build rides out a short outage (half its heartbeat timeout) before it gives up: keep it short here.
    const build = runDatabuild(
      ["build", "--parallel", "2", "--heartbeat", "0.2", "--heartbeat-timeout", "2", ...refs],
      { cwd: dir, env },
    );
    const deadline = Date.now() + 30_000;
    const written = () =>
      existsSync(join(dir, "data/w")) ? readdirSync(join(dir, "data/w")).filter((f) => !f.endsWith(".tmp")) : [];
    while (written().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await server.stop("immediate");
    const stopped = await build;
    expect(stopped.code, stopped.stderr).toBe(3);
    expect(stopped.stderr).toContain(`${server.url("build_log")}: the event log's database server is unavailable`);
    expect(stopped.stderr).toContain(`127.0.0.1:${server.port}`);

    await server.start();
    // Everything the log says is available was written whole.
    const log = await POSTGRES_BACKEND.open(env.DATABUILD_DB, { readOnly: true });
    let available: string[];
    try {
      available = (await log.read(0, { kinds: ["partitionManifest"] })).flatMap((l) =>
        l.event.event.case === "partitionManifest" ? l.event.event.value.outputs.map((o) => o.str) : [],
      );
    } finally {
      await log.close();
    }
    expect(available.length).toBeGreaterThan(0);
    expect(available.length).toBeLessThan(refs.length);
    for (const ref of available) expect(readFileSync(join(dir, "data", ref), "utf8")).toBe(`built ${ref}\n`);

    const rerun = await runDatabuild(["build", "--parallel", "2", ...refs], { cwd: dir, env });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(new RegExp(`${available.length} already available`));
    for (const ref of refs) expect(readFileSync(join(dir, "data", ref), "utf8")).toBe(`built ${ref}\n`);
    // Each partition was recorded built once, across both builds.
    const after = await POSTGRES_BACKEND.open(env.DATABUILD_DB, { readOnly: true });
    try {
      const outputs = (await after.read(0, { kinds: ["partitionManifest"] })).flatMap((l) =>
        l.event.event.case === "partitionManifest" ? l.event.event.value.outputs.map((o) => o.str) : [],
      );
      expect(outputs.sort()).toEqual([...refs].sort());
    } finally {
      await after.close();
    }
  }, 90_000);
});

const WRITE_SH = `#!/usr/bin/env bash
set -euo pipefail
mkdir -p "data/$(dirname "$1")"
sleep "\${SLEEP:-0}"
echo "built $1" > "data/$1.tmp"
mv "data/$1.tmp" "data/$1"
`;
