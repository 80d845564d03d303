/**
 * `databuild triggers` through the real bin: listing (text and --json),
 * pause and resume recorded in the log, an unknown trigger (exit 2), and
 * the last tick a runner recorded on the same log.
 */
import { fromJson } from "@bufbuild/protobuf";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TriggerOutcome, TriggerViewSchema } from "../../gen/databuild_pb.ts";
import { openSqliteEventLog } from "../../event-log/index.ts";
import { DEFAULT_BUILD_REQUEST } from "../../executor/build-request.ts";
import { shortId } from "../format/short-id.ts";
import { loadGraph } from "../../loader/load-graph.ts";
import { COUNTING_JOB_SH, manifestJob, manifestProject } from "../../testing/manifest-project.ts";
import { runDatabuild } from "../../testing/run-cli.ts";
import { TriggerRunner } from "../../triggers/index.ts";

function project(): string {
  return manifestProject({
    "databuild.yaml": `name: nightly_graph
jobs:
${manifestJob("raw", "raw/{x}", ["jobs/count.sh"])}triggers:
  - name: nightly
    cron: "0 3 * * *"
    time_zone: Europe/Berlin
    partitions: ["raw/{date}"]
  - name: raw_ready
    eager: raw
    on: ["raw/{x}"]
`,
    "jobs/count.sh": COUNTING_JOB_SH,
  });
}

const views = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .map((line) => fromJson(TriggerViewSchema, JSON.parse(line)));

describe("databuild triggers", () => {
  it("lists the graph's triggers with their next tick, and the last one a runner recorded", async () => {
    const dir = project();
    const listed = await runDatabuild(["triggers"], { cwd: dir });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^nightly {2}schedule {2}0 3 \* \* \* \(Europe\/Berlin\)$/m);
    expect(listed.stdout).toMatch(/^ {2}requests: raw\/\{date\}$/m);
    expect(listed.stdout).toMatch(/^ {2}last: {5}never$/m);
    expect(listed.stdout).toMatch(/^ {2}next: {5}\d{4}-\d\d-\d\dT0[12]:00:00Z {2}\(catch-up limit 3\)$/m);
    expect(listed.stdout).toMatch(/^raw_ready {2}sensor$/m);
    expect(listed.stdout).toContain(`defined:  ${join(dir, "databuild.yaml")}:8`);

    // A runner ticks once on the project's log (its clock: just past a 03:00 Berlin tick).
    const graph = await loadGraph(join(dir, "databuild.yaml"));
    const log = await openSqliteEventLog(join(dir, ".databuild", "databuild.db"));
    const tick = Date.parse("2024-05-02T01:00:00Z");
    let now = tick - 1000;
    const runner = new TriggerRunner({
      log,
      graph,
      replicaId: "test",
      now: () => now,
      pollMs: 3_600_000,
      requestFor: (refs) => ({ ...DEFAULT_BUILD_REQUEST, refs, parallel: 1, requester: "test" }),
      startBuild: () => {},
    });
    await runner.start();
    now = tick + 500;
    await runner.evaluateOnce();
    await runner.stop();
    await log.close();

    const after = await runDatabuild(["triggers", "--json"], { cwd: dir });
    expect(after.code, after.stderr).toBe(0);
    const [nightly, sensor] = views(after.stdout);
    expect(nightly).toMatchObject({ name: "nightly", kind: "schedule", cron: "0 3 * * *", timeZone: "Europe/Berlin" });
    expect(nightly!.lastOutcome).toBe(TriggerOutcome.TRIGGER_REQUESTED);
    expect(nightly!.lastBuildRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(nightly!.catchUpLimit).toBe(3);
    expect(sensor).toMatchObject({ name: "raw_ready", kind: "sensor", description: expect.stringMatching(/^eager: /) });
    const text = await runDatabuild(["triggers"], { cwd: dir });
    expect(text.stdout).toContain(
      `  last:     2024-05-02T01:00:00Z requested, build request ${shortId(nightly!.lastBuildRequestId)}`,
    );
  });

  it("pauses and resumes a trigger, recording who did it", async () => {
    const dir = project();
    const paused = await runDatabuild(["triggers", "pause", "nightly"], { cwd: dir });
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(/^paused trigger nightly \(by \S+@\S+\)$/m);
    const again = await runDatabuild(["triggers", "pause", "nightly"], { cwd: dir });
    expect(again.stdout).toBe("trigger nightly was paused already\n");
    const listed = await runDatabuild(["triggers", "--json"], { cwd: dir });
    expect(views(listed.stdout).map((v) => [v.name, v.paused])).toEqual([
      ["nightly", true],
      ["raw_ready", false],
    ]);
    expect((await runDatabuild(["triggers"], { cwd: dir })).stdout).toMatch(/^nightly {2}schedule .* PAUSED$/m);

    const resumed = await runDatabuild(["triggers", "resume", "nightly", "--json"], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(views(resumed.stdout)[0]!.paused).toBe(false);

    const events = await runDatabuild(["events", "--json"], { cwd: dir });
    const kinds = events.stdout
      .trim()
      .split("\n")
      .map((line) => Object.keys(JSON.parse(line)).find((k) => k.startsWith("trigger")));
    expect(kinds).toEqual(["triggerPaused", "triggerResumed"]);
  });

  it("exits 2 naming the triggers that exist for an unknown one, and writes nothing", async () => {
    const dir = project();
    const result = await runDatabuild(["triggers", "pause", "nighlty"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'databuild: error: unknown trigger "nighlty": the graph\'s triggers are nightly, raw_ready\n',
    );
    const events = await runDatabuild(["events"], { cwd: dir });
    expect(events.stdout).toBe("");
  });

  it("has --help", async () => {
    const help = await runDatabuild(["triggers", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("pause [options] <name>");
    expect(help.stdout).toContain("resume [options] <name>");
  });
});
