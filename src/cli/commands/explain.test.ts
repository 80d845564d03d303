// `databuild explain` as a user runs it: the real bin, real job processes,
// a real SQLite log, one state per test.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COUNTING_JOB_SH, manifestJob, manifestProject } from "../../testing/manifest-project.ts";
import { runDatabuild, DATABUILD_BIN } from "../../testing/run-cli.ts";

/** up/{x} -> down/{x}: the upstream job at `upVersion`, the downstream built from it. */
function lineageYaml(upVersion: string, upExec = ["jobs/run.sh"]): string {
  return (
    `name: lineage\njobs:\n` +
    manifestJob("up", "up/{x}", upExec, "", `    version: "${upVersion}"\n`) +
    manifestJob("down", "down/{x}", ["jobs/run.sh"], "up/{x}")
  );
}

function lineageProject(upExec?: string[]): string {
  return manifestProject({ "databuild.yaml": lineageYaml("1.0.0", upExec), "jobs/run.sh": COUNTING_JOB_SH });
}

/**
 * Runs `explain`, and `status` of the same refs, and checks that they give
 * each ref the same state (one answer per question).
 */
async function explain(dir: string, ...args: string[]) {
  const [result, status] = await Promise.all([
    runDatabuild(["explain", ...args], { cwd: dir }),
    runDatabuild(["status", ...args], { cwd: dir }),
  ]);
  if (result.code === 0 && status.code === 0 && existsSync(join(dir, ".databuild")) && !args.includes("--json")) {
    const explained = [...result.stdout.matchAll(/^(\S+): ([A-Z_]+) — /gm)].map((m) => `${m[1]} ${m[2]}`);
    const shown = [...status.stdout.matchAll(/^(\S+)  ([A-Z_]+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    // Both formats must still be recognized: an empty match on both sides would prove nothing.
    expect(explained.length, result.stdout).toBeGreaterThan(0);
    expect(shown, `status:\n${status.stdout}\nexplain:\n${result.stdout}`).toEqual(explained);
  }
  return result;
}

describe("databuild explain", () => {
  it("explains a partition nothing asked for, and what a build would run, without creating a log", async () => {
    const dir = lineageProject();
    const result = await explain(dir, "down/1");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^down\/1: NEVER_REQUESTED — /);
    expect(result.stdout).toContain("would run 2 tasks:\n    up  up/1\n    down  down/1");
    expect(result.stdout.trim().split("\n").at(-1)).toBe("to build it: databuild build down/1");
    // Explaining is read-only: no log appears where none was.
    expect(existsSync(join(dir, ".databuild/databuild.db"))).toBe(false);
    const json = JSON.parse((await explain(dir, "--json", "down/1")).stdout);
    expect(json.state).toBe("NEVER_REQUESTED");
    expect(json.wouldRun.map((t: { job: { label: string } }) => t.job.label)).toEqual(["up", "down"]);
  });

  it("names the build, job run, job version and the inputs' job runs of an available partition", async () => {
    const dir = lineageProject();
    expect((await runDatabuild(["build", "down/1"], { cwd: dir })).code).toBe(0);
    const status = (ref: string) => runDatabuild(["status", "--json", ref], { cwd: dir });
    const down = JSON.parse((await status("down/1")).stdout);
    const up = JSON.parse((await status("up/1")).stdout);
    const result = await explain(dir, "down/1");
    expect(result.code).toBe(0);
    const first = result.stdout.split("\n")[0]!;
    expect(first).toMatch(/^down\/1: AVAILABLE — built (\d+ s ago|just now) by job down 0\.0\.0 /);
    expect(first).toContain(`(build request ${down.buildRequestId.slice(-8)}, job run ${down.jobRunId.slice(-8)})`);
    expect(result.stdout).toContain(`    up/1  built by job run ${up.jobRunId.slice(-8)}`);
    expect(result.stdout).toContain("would run nothing: it is available");
    const json = JSON.parse((await explain(dir, "--json", "down/1")).stdout);
    expect(json.state).toBe("AVAILABLE");
    expect(json.jobRun.jobRunId).toBe(down.jobRunId);
    expect(json.wouldRun).toBeUndefined(); // proto3 JSON omits an empty list
  });

  it("shows a failed job run's exit category, message, last stderr lines and the logs hint", async () => {
    const failing = ["bash", "-c", 'echo "step 1 ok"; echo "boom: disk full on /data" >&2; exit 3', "crunch"];
    const dir = lineageProject(failing);
    expect((await runDatabuild(["build", "down/1"], { cwd: dir })).code).toBe(1);
    const up = await explain(dir, "up/1");
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/^up\/1: FAILED — job run (\w{8}) of job up failed .*\(EXIT_JOB_FAILURE, exit code 3\)/);
    expect(up.stdout).toContain("    | boom: disk full on /data");
    const run = /full log: databuild logs (\w{8})/.exec(up.stdout)![1]!;
    expect((await runDatabuild(["logs", run], { cwd: dir })).stdout).toContain("boom: disk full on /data");
    expect(up.stdout.trim().split("\n").at(-1)).toBe("to retry: databuild build up/1");
    // The downstream partition failed without a job run of its own: the message says why.
    const down = await explain(dir, "down/1");
    expect(down.stdout).toMatch(/^down\/1: FAILED — not built: upstream job "up" failed \(up\/1\)/);
    const json = JSON.parse((await explain(dir, "--json", "up/1")).stdout);
    expect(json.state).toBe("FAILED");
    expect(json.jobRun.exitCategory).toBe("EXIT_JOB_FAILURE");
    expect(json.stderrTail).toContain("boom: disk full on /data");
  });

  it("calls a partition stale after a major version bump of its job or of an input's, not after a minor one", async () => {
    const dir = lineageProject();
    expect((await runDatabuild(["build", "down/1"], { cwd: dir })).code).toBe(0);
    const manifest = join(dir, "databuild.yaml");

    writeFileSync(manifest, lineageYaml("2.0.0"));
    const up = await explain(dir, "up/1");
    expect(up.stdout).toMatch(/^up\/1: STALE — built .* by job up 1\.0\.0 .*, but stale: /);
    expect(up.stdout).toContain("the job is now version 2.0.0 (major version changed)");
    expect(up.stdout).toContain("would run 1 task:\n    up  up/1");
    const down = await explain(dir, "down/1");
    expect(down.stdout).toMatch(/^down\/1: STALE — .*but stale: input up\/1 is stale/);
    expect(down.stdout.trim().split("\n").at(-1)).toBe("to rebuild: databuild build down/1");
    const json = JSON.parse((await explain(dir, "--json", "up/1", "down/1")).stdout.split("\n")[1]!);
    expect(json.state).toBe("STALE");
    expect(json.staleReasons).toEqual([expect.objectContaining({ kind: "INPUT_STALE", input: { str: "up/1" } })]);

    writeFileSync(manifest, lineageYaml("1.1.0"));
    const both = await explain(dir, "up/1", "down/1");
    expect(both.stdout).toMatch(/^up\/1: AVAILABLE — /m);
    expect(both.stdout).toMatch(/^down\/1: AVAILABLE — /m);
  });

  it("shows who is building a partition, its heartbeat, and the builds waiting on it", async () => {
    const dir = lineageProject(["env", "GATE=release", "jobs/run.sh"]);
    const builder = spawnBuild(dir, "up/1");
    const building = await waitForExplain(dir, "up/1", (out) => out.includes("BUILDING"));
    const [builderId] = await buildIds(dir);
    expect(building).toMatch(
      new RegExp(
        `^up/1: BUILDING — being built by build request ${builderId!.slice(-8)} \\(\\S+@\\S+ pid \\d+\\): job run`,
      ),
    );
    expect(building).toMatch(/\n  last heartbeat (just now|\d+ s ago); lease timeout 30 s/);
    expect(building).toContain(`to follow it: databuild events --follow --build ${builderId!.slice(-8)}`);

    // A second build of the same partition delegates to the first and waits.
    const waiter = spawnBuild(dir, "up/1");
    const waiting = await waitForExplain(dir, "up/1", (out) => out.includes("build requests waiting on it"));
    const waiterId = (await buildIds(dir)).find((id) => id !== builderId)!;
    expect(waiting).toContain(`build requests waiting on it: ${waiterId.slice(-8)}`);
    const json = JSON.parse((await explain(dir, "--json", "up/1")).stdout);
    expect(json).toMatchObject({
      state: "BUILDING",
      claimedBy: { buildRequestId: builderId },
      delegatedBy: [waiterId],
    });
    expect(json.claimedByLastHeartbeat).toBeDefined();

    writeFileSync(join(dir, "release"), "");
    expect(await Promise.all([builder, waiter])).toEqual([0, 0]);
    expect((await explain(dir, "up/1")).stdout).toMatch(/^up\/1: AVAILABLE — /);
    expect(readFileSync(join(dir, "runs/up/1"), "utf8")).toBe("run\n"); // built once, for both
  });

  it("says a dead builder's partition will be taken over, and plans that takeover", async () => {
    const dir = lineageProject(["env", "GATE=release", "jobs/run.sh"]);
    const builder = spawn(process.execPath, [DATABUILD_BIN, "build", "up/1"], { cwd: dir, stdio: "ignore" });
    await waitForExplain(dir, "up/1", (out) => out.includes("BUILDING"));
    builder.kill("SIGKILL");
    await new Promise((resolve) => builder.on("close", resolve));
    const result = await explain(dir, "up/1");
    // Still BUILDING in the log (nobody recorded the death yet), but the lease is worthless.
    expect(result.stdout).toMatch(/^up\/1: BUILDING — /);
    expect(result.stdout).toMatch(
      /its holder is gone \(its process \d+ on \S+ is gone\); the next build will take it over/,
    );
    expect(result.stdout).toContain("would run 1 task:\n    up  up/1");
    expect(result.stdout.trim().split("\n").at(-1)).toBe("to take it over now: databuild build up/1");
    // status gives the same answer, from the same read models.
    const status = await runDatabuild(["status", "up/1"], { cwd: dir });
    expect(status.stdout).toMatch(/^up\/1  BUILDING\n  being built by build request /);
    expect(status.stdout).toMatch(
      /its holder is gone \(its process \d+ on \S+ is gone\); the next build will take it over/,
    );
    writeFileSync(join(dir, "release"), ""); // lets the orphaned job end
    expect((await runDatabuild(["build", "up/1"], { cwd: dir })).code).toBe(0);
    expect((await explain(dir, "up/1")).stdout).toMatch(/^up\/1: AVAILABLE — /);
    expect(readFileSync(join(dir, "runs/up/1"), "utf8")).toBe("run\nrun\n"); // the dead run, then the takeover
  });

  it("explains from --db alone when there is no graph, and says it cannot plan", async () => {
    const dir = lineageProject();
    expect((await runDatabuild(["build", "up/1"], { cwd: dir })).code).toBe(0);
    const db = join(dir, ".databuild/databuild.db");
    const elsewhere = manifestProject({}); // no databuild.yaml here
    const result = await runDatabuild(["--db", db, "explain", "up/1"], { cwd: elsewhere });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^up\/1: AVAILABLE — built .* by job up 1\.0\.0/);
    expect(result.stdout).toContain("could not be planned: cannot plan without the graph: no graph file in");
    const missing = await runDatabuild(["--db", join(elsewhere, "nope.db"), "explain", "up/1"], { cwd: elsewhere });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(join(elsewhere, "nope.db"));
  });

  it("has --help, rejects a malformed ref with exit 2, and explains a ref no job produces", async () => {
    const help = await runDatabuild(["explain", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: databuild explain [options] <refs...>");
    expect(help.stdout).toContain("--json");
    const dir = lineageProject();
    const bad = await runDatabuild(["explain", "up/1 x"], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('malformed partition ref "up/1 x"');
    // A ref no job produces is a fact about it, not a misuse: explained, with the planning error.
    const unmatched = await explain(dir, "sideways/1");
    expect(unmatched.code).toBe(0);
    expect(unmatched.stdout).toContain('could not be planned: no job produces partition "sideways/1"');
    expect(unmatched.stdout.trim().split("\n").at(-1)).toMatch(/^a build of it would fail to plan/);
  });
});

/** Starts `databuild build REF` in the background; resolves with its exit code. */
function spawnBuild(dir: string, ref: string): Promise<number | null> {
  const child = spawn(process.execPath, [DATABUILD_BIN, "build", ref], { cwd: dir, stdio: "ignore" });
  return new Promise((resolve) => child.on("close", resolve));
}

async function buildIds(dir: string): Promise<string[]> {
  const out = (await runDatabuild(["builds", "--json"], { cwd: dir })).stdout;
  return out
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l).buildRequestId as string);
}

/** Runs explain until its output satisfies `done` (each run is a fresh process reading the log). */
async function waitForExplain(dir: string, ref: string, done: (out: string) => boolean): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    // Not explain(): the state may change between its explain and its status.
    const { stdout } = await runDatabuild(["explain", ref], { cwd: dir });
    if (done(stdout)) return stdout;
    if (Date.now() > deadline) throw new Error(`timed out waiting; last explain:\n${stdout}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
