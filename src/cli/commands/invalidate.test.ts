// `databuild invalidate` as a user runs it: the real bin, real job processes
// that count their runs, a real SQLite log; then builds show what the
// invalidation changed.
import { fromJsonString } from "@bufbuild/protobuf";
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BuildEventSchema, PartitionStatus, type BuildEvent } from "../../gen/databuild_pb.ts";
import { COUNTING_JOB_SH, manifestJob, manifestProject } from "../../testing/manifest-project.ts";
import { DATABUILD_BIN, runDatabuild } from "../../testing/run-cli.ts";

/** up/{x} -> down/{x}, built: each ran once. */
async function builtLineage(upExec = ["jobs/run.sh"], files: Record<string, string> = {}): Promise<string> {
  const dir = manifestProject({
    "databuild.yaml":
      `name: lineage\njobs:\n` +
      manifestJob("up", "up/{x}", upExec) +
      manifestJob("down", "down/{x}", ["jobs/run.sh"], "up/{x}"),
    "jobs/run.sh": COUNTING_JOB_SH,
    ...files,
  });
  expect((await runDatabuild(["build", "down/1"], { cwd: dir })).code).toBe(0);
  return dir;
}

const runs = (dir: string, ref: string) =>
  readFileSync(join(dir, "runs", ref), "utf8")
    .split("\n")
    .filter(Boolean).length;

async function events(dir: string): Promise<BuildEvent[]> {
  const { stdout } = await runDatabuild(["events", "--json"], { cwd: dir });
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => fromJsonString(BuildEventSchema, l));
}

async function explainFirstLine(dir: string, ref: string): Promise<string> {
  return (await runDatabuild(["explain", ref], { cwd: dir })).stdout.split("\n")[0]!;
}

describe("databuild invalidate", () => {
  it("marks a partition invalid with who and why; the next build of it rebuilds exactly it", async () => {
    const dir = await builtLineage();
    const before = (await events(dir)).length;
    const result = await runDatabuild(["invalidate", "up/1", "--reason", "bad upstream feed"], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^invalidated 1 partition \(invalidation \w{8}\):\n {2}up\/1\n/);
    expect(result.stdout).toContain("to rebuild: databuild build up/1");

    // One partitionsInvalidated, one INVALIDATED status, under one fresh id.
    const added = (await events(dir)).slice(before);
    expect(added.map((e) => e.event.case)).toEqual(["partitionsInvalidated", "partitionStatusChanged"]);
    expect(added[0]!.buildRequestId).toBe(added[1]!.buildRequestId);
    const invalidated = added[0]!.event.value as { requester: string; reason: string; partitionsInvalidated: number };
    expect(invalidated).toMatchObject({ reason: "bad upstream feed", partitionsInvalidated: 1 });
    expect(invalidated.requester).toMatch(/^\S+@\S+ pid \d+$/);
    expect(added[1]!.event.value).toMatchObject({ status: PartitionStatus.PARTITION_INVALIDATED });

    expect(await explainFirstLine(dir, "up/1")).toMatch(
      /^up\/1: INVALIDATED — invalidated by \S+@\S+ pid \d+: bad upstream feed \(/,
    );
    // What was built from it is stale now, not invalid.
    expect(await explainFirstLine(dir, "down/1")).toMatch(/^down\/1: STALE — .*but stale: input up\/1 was invalidated/);

    const again = await runDatabuild(["invalidate", "up/1"], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to invalidate\nalready invalidated: up/1");

    expect((await runDatabuild(["build", "up/1"], { cwd: dir })).code).toBe(0);
    expect([runs(dir, "up/1"), runs(dir, "down/1")]).toEqual([2, 1]);
    expect(await explainFirstLine(dir, "up/1")).toMatch(/^up\/1: AVAILABLE — /);
  });

  it("with --downstream also marks what was built from it; a build of the downstream reruns both", async () => {
    const dir = await builtLineage();
    const result = await runDatabuild(["invalidate", "--downstream", "up/1"], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("invalidated 2 partitions");
    expect(result.stdout).toContain("  up/1\n  down/1  (built from up/1)\n");
    expect(result.stdout).toContain("to rebuild: databuild build down/1");
    const status = await runDatabuild(["status", "--json", "down/1"], { cwd: dir });
    expect(JSON.parse(status.stdout)).toMatchObject({
      status: "PARTITION_INVALIDATED",
      message: expect.stringMatching(/^invalidated by \S+@\S+ pid \d+: built from up\/1$/),
    });
    const recorded = (await events(dir)).find((e) => e.event.case === "partitionsInvalidated")!;
    expect(recorded.event.value).toMatchObject({ downstream: true, partitionsInvalidated: 2 });

    expect((await runDatabuild(["build", "down/1"], { cwd: dir })).code).toBe(0);
    expect([runs(dir, "up/1"), runs(dir, "down/1")]).toEqual([2, 2]);
  });

  it("refuses refs that were never built with exit 2, naming them, and writes nothing", async () => {
    const dir = await builtLineage();
    const before = (await events(dir)).length;
    // up/1 is fine, but the request is all or nothing.
    const result = await runDatabuild(["invalidate", "up/1", "up/2", "other/x"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("cannot invalidate up/2, other/x: never built");
    expect(result.stderr).toContain(join(dir, ".databuild/databuild.db"));
    expect((await events(dir)).length).toBe(before);
    expect(await explainFirstLine(dir, "up/1")).toMatch(/^up\/1: AVAILABLE — /);
  });

  it("refuses with exit 1 to invalidate a partition a live build is producing, naming the build", async () => {
    // The gate is open for the first build, closed for the forced rebuild.
    const dir = await builtLineage(["env", "GATE=release", "jobs/run.sh"], { release: "" });
    rmSync(join(dir, "release"));
    const child = spawn(process.execPath, [DATABUILD_BIN, "build", "--force", "up/1"], { cwd: dir, stdio: "ignore" });
    const finished = new Promise((resolve) => child.on("close", resolve));
    let explained = "";
    const deadline = Date.now() + 30_000;
    while (!explained.includes("BUILDING")) {
      if (Date.now() > deadline) throw new Error(`the forced build never showed as BUILDING: ${explained}`);
      explained = await explainFirstLine(dir, "up/1");
    }
    const builder = /being built by build request (\w{8})/.exec(explained)![1]!;
    const before = (await events(dir)).length;
    const result = await runDatabuild(["invalidate", "up/1"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`up/1: held by build request ${builder}`);
    expect(result.stderr).toContain("nothing was invalidated");
    writeFileSync(join(dir, "release"), "");
    expect(await finished).toBe(0);
    expect((await events(dir)).some((e) => e.event.case === "partitionsInvalidated")).toBe(false);
    expect((await events(dir)).length).toBeGreaterThan(before); // the build went on
  });

  it("has --help", async () => {
    const help = await runDatabuild(["invalidate", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: databuild invalidate [options] <refs...>");
    expect(help.stdout).toContain("--downstream");
    expect(help.stdout).toContain("--reason <text>");
  });
});
