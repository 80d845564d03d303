// A build request's lease while it plans: its configs may run for a long
// time, and it must heartbeat meanwhile so that no other build declares it
// lost. Real bin, real config processes, a shared SQLite log.
import { fromJsonString } from "@bufbuild/protobuf";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BuildEventSchema, type BuildEvent } from "../gen/databuild_pb.ts";
import { diagramViolations, eventsByBuild } from "../core/diagrams/diagram-paths.ts";
import { manifestJob, manifestProject } from "../testing/manifest-project.ts";
import { waitUntil } from "../testing/processes.ts";
import { DATABUILD_BIN, runDatabuild } from "../testing/run-cli.ts";

describe("heartbeats while planning", () => {
  it("a build whose config takes 3 s heartbeats while it plans, and a second build does not declare it lost", async () => {
    const slowConfig = `["sh", "-c", "sleep 3; exec python3 jobs/config.py \\"$@\\"", "sh"]`;
    const dir = manifestProject({
      "databuild.yaml": `name: lease\njobs:\n  - label: slow\n    outputs: ["slow/{x}"]\n    config: ${slowConfig}\n    exec: ["true"]\n${manifestJob("quick", "quick/{x}", ["true"])}`,
    });
    const lease = ["--heartbeat", "0.2", "--heartbeat-timeout", "1"];
    const slow = spawn(process.execPath, [DATABUILD_BIN, "build", ...lease, "slow/1"], {
      cwd: dir,
      env: { ...process.env, DATABUILD_GRAPH: "", DATABUILD_DB: "" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    slow.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const slowDone = new Promise<number | null>((resolve) => slow.on("close", resolve));
    await waitUntil(() => existsSync(join(dir, ".databuild/databuild.db")));
    // Well past the slow build's 1 s lease, while its config still runs.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const other = await runDatabuild(["build", ...lease, "quick/1"], { cwd: dir });
    expect(other.code).toBe(0);
    expect(await slowDone, stderr).toBe(0);

    const events = (await runDatabuild(["events", "--json"], { cwd: dir })).stdout
      .trim()
      .split("\n")
      .map((line) => fromJsonString(BuildEventSchema, line));
    expect(events.filter((e) => e.event.case === "buildRequestLost")).toEqual([]);
    const [first] = [...eventsByBuild(events).values()] as BuildEvent[][];
    const planned = first!.findIndex((e) => e.event.case === "jobGraph");
    expect(planned).toBeGreaterThan(0);
    const beats = first!.slice(0, planned).filter((e) => e.event.case === "buildHeartbeat");
    // 3 s at 0.2 s is about 15; allow for a loaded machine.
    expect(beats.length).toBeGreaterThanOrEqual(8);
    for (const list of eventsByBuild(events).values()) expect(diagramViolations(list)).toEqual([]);
  }, 30_000);
});
