// `databuild build` as a user runs it: the real bin, real job processes in
// bash and Python, a real SQLite event log (and PostgreSQL where a fault is
// about the log), and the faults a build must survive.
import { fromJsonString } from "@bufbuild/protobuf";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BuildEventSchema, PartitionStatus, type BuildEvent } from "../../gen/databuild_pb.ts";
import { diagramViolations, eventsByBuild } from "../../core/diagrams/diagram-paths.ts";
import { LOG_BACKENDS } from "../../testing/log-backends.ts";
import { manifestJob, manifestProject } from "../../testing/manifest-project.ts";
import { DATABUILD_BIN, REPO_ROOT, runDatabuild, tempDir } from "../../testing/run-cli.ts";

function parseEvents(jsonLines: string): BuildEvent[] {
  return jsonLines
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => fromJsonString(BuildEventSchema, l));
}

const WRITE_SH = `#!/usr/bin/env bash
# args: the ref to write. Writes data/<ref> through a temp file.
set -euo pipefail
mkdir -p "data/$(dirname "$1")"
sleep "\${SLEEP:-0}"
echo "built $1" > "data/$1.tmp"
mv "data/$1.tmp" "data/$1"
echo "wrote $1"
`;

describe("databuild build", () => {
  it("builds the basic manifest example, then has nothing to do, with valid event paths", async () => {
    const dir = tempDir();
    const example = join(REPO_ROOT, "examples/basic");
    cpSync(example, dir, {
      recursive: true,
      filter: (src) => !/^\/(data|\.databuild)(\/|$)/.test(src.slice(example.length)),
    });
    const graph = ["--graph", join(dir, "databuild.yaml")];
    const first = await runDatabuild([...graph, "build", "summary/month=2024-01"]);
    expect(first.stderr).toContain("Build completed: built 15 partitions in 15 jobs");
    expect(first.code).toBe(0);
    expect(existsSync(join(dir, ".databuild/databuild.db"))).toBe(true);
    const second = await runDatabuild([...graph, "build", "summary/month=2024-01"]);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("Nothing to do: the requested partition is already available.");
    const events = await runDatabuild([...graph, "events", "--json"]);
    expect(events.code).toBe(0);
    const byBuild = eventsByBuild(parseEvents(events.stdout));
    expect(byBuild.size).toBe(2);
    for (const [, list] of byBuild) expect(diagramViolations(list)).toEqual([]);
    const status = await runDatabuild([...graph, "status", "--json", "summary/month=2024-01"]);
    expect(JSON.parse(status.stdout).status).toBe("PARTITION_AVAILABLE");
    const hint = /\(databuild --graph \S+ events --build (\w{8})\)/.exec(second.stderr);
    expect(hint).not.toBeNull();
    const one = await runDatabuild([...graph, "events", "--build", hint![1]!]);
    expect(one.code).toBe(0);
    expect(one.stdout.trim().split("\n").at(-1)).toContain("build request completed");
    const unknown = await runDatabuild([...graph, "events", "--build", "nosuchid"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no build request with id "nosuchid"');
  });

  it("exits 1 naming the job, ref, exit category and last stderr lines when a job fails", async () => {
    const dir = manifestProject({
      "databuild.yaml": `name: failing\njobs:\n${manifestJob("crunch", "crunch/{x}", ["bash", "-c", 'echo "step 1 ok"; echo "boom: disk full on /data" >&2; exit 3', "crunch"])}`,
    });
    const result = await runDatabuild(["build", "crunch/7"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('job "crunch" for crunch/7');
    expect(result.stderr).toContain("exit code 3");
    expect(result.stderr).toContain("boom: disk full on /data");
    const logsHint = /full log: databuild logs ([0-9a-f]{8})\b/.exec(result.stderr);
    expect(logsHint).not.toBeNull();
    const logs = await runDatabuild(["logs", logsHint![1]!], { cwd: dir });
    expect(logs.stdout).toBe("step 1 ok\nboom: disk full on /data\n");
  });

  it("reports a missing executable as a launch failure, not a crash", async () => {
    const dir = manifestProject({
      "databuild.yaml": `name: missing\njobs:\n${manifestJob("ghost", "ghost/{x}", ["jobs/does-not-exist.sh"])}`,
    });
    const result = await runDatabuild(["build", "ghost/1"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('job "ghost" for ghost/1');
    expect(result.stderr).toContain("EXIT_LAUNCH_FAILURE");
    expect(result.stderr).toContain("jobs/does-not-exist.sh");
    expect(result.stderr).not.toContain("internal error");
  });

  it("keeps every line of a job that floods stdout", async () => {
    const dir = manifestProject({
      "databuild.yaml": `name: flood\njobs:\n${manifestJob("flood", "flood/{x}", ["python3", "-c", "import sys\nfor i in range(100000): print('line', i, 'x' * 40)\nprint('done', file=sys.stderr)"])}`,
    });
    const result = await runDatabuild(["build", "flood/1"], { cwd: dir });
    expect(result.code).toBe(0);
    const run = JSON.parse((await runDatabuild(["status", "--json", "flood/1"], { cwd: dir })).stdout).jobRunId;
    const logs = await runDatabuild(["logs", run, "--stream", "stdout"], { cwd: dir });
    const lines = logs.stdout.split("\n").filter(Boolean);
    expect(lines).toHaveLength(100_000);
    expect(lines[99_999]).toBe(`line 99999 ${"x".repeat(40)}`);
  }, 60_000);

  it("stops a job that runs past its timeout", async () => {
    const dir = manifestProject({
      "databuild.yaml": `name: slow\njobs:\n${manifestJob("slow", "slow/{x}", ["bash", "-c", "sleep 30", "slow"], "", "    timeout_seconds: 0.5\n")}`,
    });
    const started = Date.now();
    const result = await runDatabuild(["build", "slow/1"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("EXIT_TIMEOUT");
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("refuses a corrupted or foreign --db file and leaves it untouched", async () => {
    const dir = manifestProject({
      "databuild.yaml": `name: ok\njobs:\n${manifestJob("w", "w/{x}", ["jobs/write.sh"])}`,
      "jobs/write.sh": WRITE_SH,
    });
    mkdirSync(join(dir, ".databuild"));
    const db = join(dir, ".databuild/databuild.db");
    writeFileSync(db, "this is my thesis, not a database\n".repeat(200));
    const before = createHash("sha256").update(readFileSync(db)).digest("hex");
    const result = await runDatabuild(["build", "w/1"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(db);
    expect(createHash("sha256").update(readFileSync(db)).digest("hex")).toBe(before);
    expect(existsSync(join(dir, "data/w/1"))).toBe(false);
  });

  for (const backend of LOG_BACKENDS) {
    it(`recovers from kill -9 mid-build: the rerun finishes, nothing unfinished was marked available (${backend.name})`, async () => {
      const refs = Array.from({ length: 8 }, (_, i) => `w/${i}`);
      const dir = manifestProject({
        "databuild.yaml": `name: killme\njobs:\n${manifestJob("w", "w/{x}", ["env", "SLEEP=0.4", "jobs/write.sh"])}`,
        "jobs/write.sh": WRITE_SH,
      });
      const env = { DATABUILD_DB: await backend.freshLocation(dir) };
      const child = spawn(process.execPath, [DATABUILD_BIN, "build", "--parallel", "2", ...refs], {
        cwd: dir,
        env: { ...process.env, DATABUILD_GRAPH: "", ...env },
        stdio: "ignore",
      });
      await waitFor(
        () =>
          existsSync(join(dir, "data/w")) &&
          readdirSync(join(dir, "data/w")).filter((f) => !f.endsWith(".tmp")).length >= 3,
        20_000,
      );
      child.kill("SIGKILL");
      await new Promise((resolve) => child.on("close", resolve));

      const builds = await runDatabuild(["builds"], { cwd: dir, env });
      expect(builds.stdout).toMatch(/executing .*\n    probably lost: its process \d+ on .+ is gone/);
      const afterKill = parseEvents((await runDatabuild(["events", "--json"], { cwd: dir, env })).stdout);
      const available = afterKill
        .filter((e) => e.event.case === "partitionManifest")
        .flatMap((e) => (e.event.value as { outputs: { str: string }[] }).outputs.map((o) => o.str));
      expect(available.length).toBeGreaterThanOrEqual(1);
      for (const ref of available) expect(readFileSync(join(dir, "data", ref), "utf8")).toBe(`built ${ref}\n`);

      const rerun = await runDatabuild(["build", "--parallel", "2", ...refs], { cwd: dir, env });
      expect(rerun.code).toBe(0);
      expect(rerun.stderr).toMatch(
        new RegExp(
          `built ${refs.length - available.length} partitions? in ${refs.length - available.length} jobs?, ${available.length} already available`,
        ),
      );
      for (const ref of refs) expect(readFileSync(join(dir, "data", ref), "utf8")).toBe(`built ${ref}\n`);
      const statuses = (await runDatabuild(["status", "--json", ...refs], { cwd: dir, env })).stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).status);
      expect(statuses.every((s) => s === PartitionStatus[PartitionStatus.PARTITION_AVAILABLE])).toBe(true);
    }, 60_000);
  }

  it("follows a running build's events until it ends, and lists it in builds", async () => {
    const dir = manifestProject({
      "databuild.yaml": `name: follow\njobs:\n${manifestJob("w", "w/{x}", ["env", "SLEEP=1", "jobs/write.sh"])}`,
      "jobs/write.sh": WRITE_SH,
    });
    const build = runDatabuild(["build", "w/1", "w/2", "w/3"], { cwd: dir });
    await waitFor(() => existsSync(join(dir, ".databuild/databuild.db")), 10_000);
    let id = "";
    while (!id) {
      const builds = await runDatabuild(["builds", "--json"], { cwd: dir });
      id = builds.stdout ? JSON.parse(builds.stdout.split("\n")[0]!).buildRequestId : "";
    }
    const follow = await runDatabuild(["events", "--follow", "--build", id], { cwd: dir });
    expect((await build).code).toBe(0);
    expect(follow.code).toBe(0);
    expect(follow.stdout).toContain("build requested: w/1, w/2, w/3");
    expect(follow.stdout.trim().split("\n").at(-1)).toContain("build request completed");
    const builds = await runDatabuild(["builds"], { cwd: dir });
    expect(builds.stdout).toMatch(new RegExp(`${id}\\s.*completed.*3 built, 0 failed`));
  }, 30_000);

  it("shows live progress on a terminal: counts, running jobs, elapsed", async () => {
    const dir = manifestProject({
      "databuild.yaml": `name: tty\njobs:\n${manifestJob("w", "w/{x}", ["env", "SLEEP=0.6", "jobs/write.sh"])}`,
      "jobs/write.sh": WRITE_SH,
    });
    // `script` gives the build a pseudo-terminal, as a user's shell would.
    const result = await new Promise<string>((resolve) => {
      const child = spawn(
        "script",
        ["-qfec", `stty rows 40 cols 120; ${process.execPath} ${DATABUILD_BIN} build w/1 w/2 w/3`, "/dev/null"],
        { cwd: dir },
      );
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.on("close", () => resolve(out));
    });
    expect(result).toMatch(/\d\/3 tasks/);
    expect(result).toContain("running");
    expect(result).toMatch(/▸ w w\/\d \(/);
    expect(result).toContain("Build completed: built 3 partitions in 3 jobs");
  }, 30_000);

  it("keeps building and recording when its output pipe closes early", async () => {
    const dir = manifestProject({
      "databuild.yaml": `name: pipe\njobs:\n${manifestJob("w", "w/{x}", ["env", "SLEEP=0.2", "jobs/write.sh"])}`,
      "jobs/write.sh": WRITE_SH,
    });
    const refs = Array.from({ length: 6 }, (_, i) => `w/${i}`);
    const piped = spawn(
      "bash",
      [
        "-c",
        `${process.execPath} ${DATABUILD_BIN} build -j 1 ${refs.join(" ")} 2>&1 | head -1; echo "rc=\${PIPESTATUS[0]}"`,
      ],
      { cwd: dir },
    );
    let out = "";
    piped.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => piped.on("close", resolve));
    expect(out).toContain("rc=0");
    for (const ref of refs) expect(readFileSync(join(dir, "data", ref), "utf8")).toBe(`built ${ref}\n`);
    const builds = await runDatabuild(["builds"], { cwd: dir });
    expect(builds.stdout).toMatch(/completed.*6 built, 0 failed/);
  }, 30_000);

  it("cancels cleanly on SIGINT and records the cancellation", async () => {
    const dir = manifestProject({
      "databuild.yaml": `name: interrupt\njobs:\n${manifestJob("w", "w/{x}", ["env", "SLEEP=20", "jobs/write.sh"])}`,
      "jobs/write.sh": WRITE_SH,
    });
    const child = spawn(process.execPath, [DATABUILD_BIN, "build", "w/1", "w/2"], {
      cwd: dir,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => existsSync(join(dir, ".databuild/databuild.db")), 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    child.kill("SIGINT");
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(code).toBe(1);
    expect(stderr).toContain("Build cancelled");
    const events = parseEvents((await runDatabuild(["events", "--json"], { cwd: dir })).stdout);
    expect(diagramViolations(events)).toEqual([]);
    const final = events.at(-1)!.event;
    expect(final.case === "buildRequestStatusChanged" && final.value.status).toBe(6);
  }, 30_000);
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}
