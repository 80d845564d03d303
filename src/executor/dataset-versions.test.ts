/**
 * Dataset versions (seed "Data Ver & Invalidation"): a major version bump of
 * a job makes its partitions and everything built from them stale; minor and
 * patch bumps do not. Real CLI processes, a manifest graph, real SQLite.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { manifestJob, manifestProject } from "../testing/manifest-project.ts";
import { runDatabuild } from "../testing/run-cli.ts";

/** Appends the ref to data/runs.log each time a job runs. */
const RECORD_SH = `#!/bin/sh
echo "$1" >> data/runs.log
`;

function manifest(cleanVersion: string): string {
  const version = `    version: "${cleanVersion}"\n`;
  return `name: versions
jobs:
${manifestJob("raw", "raw/{x}", ["jobs/record.sh"])}${manifestJob("clean", "clean/{x}", ["jobs/record.sh"], "raw/{x}", version)}${manifestJob("report", "report/{x}", ["jobs/record.sh"], "clean/{x}")}`;
}

const REFS = ["report/1", "report/2"];

/** Rebuilds REFS and returns the refs whose jobs ran this time. */
async function rebuild(dir: string): Promise<string[]> {
  writeFileSync(join(dir, "data/runs.log"), "");
  const result = await runDatabuild(["build", ...REFS], { cwd: dir });
  expect(result.code, result.stderr).toBe(0);
  return readFileSync(join(dir, "data/runs.log"), "utf8").split("\n").filter(Boolean).sort();
}

describe("dataset versions", () => {
  it("a major bump reruns exactly that job's partitions and their downstreams; minor and patch bumps rerun nothing", async () => {
    const dir = manifestProject({
      "databuild.yaml": manifest("1.0.0"),
      "jobs/record.sh": RECORD_SH,
      "data/runs.log": "",
    });
    expect(await rebuild(dir)).toEqual(["clean/1", "clean/2", "raw/1", "raw/2", "report/1", "report/2"]);
    expect(await rebuild(dir)).toEqual([]);

    writeFileSync(join(dir, "databuild.yaml"), manifest("1.1.0"));
    expect(await rebuild(dir)).toEqual([]);
    writeFileSync(join(dir, "databuild.yaml"), manifest("1.1.7"));
    expect(await rebuild(dir)).toEqual([]);

    writeFileSync(join(dir, "databuild.yaml"), manifest("2.0.0"));
    const status = await runDatabuild(["status", "report/1"], { cwd: dir });
    expect(status.stdout).toMatch(/^report\/1  STALE\n.*but stale: input clean\/1 is stale\n/);
    expect(await rebuild(dir)).toEqual(["clean/1", "clean/2", "report/1", "report/2"]);
    expect(await rebuild(dir)).toEqual([]);

    // The new manifests record the version they were built with.
    const events = (await runDatabuild(["events", "--json"], { cwd: dir })).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const cleanVersions = events
      .filter((e) => e.partitionManifest?.task?.job?.label === "clean")
      .map((e) => e.partitionManifest.jobVersion);
    expect(cleanVersions).toEqual(["1.0.0", "1.0.0", "2.0.0", "2.0.0"]);
  }, 60_000);

  it("a partition whose input was rebuilt after it (--force) is rebuilt when next requested", async () => {
    const dir = manifestProject({
      "databuild.yaml": manifest("1.0.0"),
      "jobs/record.sh": RECORD_SH,
      "data/runs.log": "",
    });
    await rebuild(dir);
    writeFileSync(join(dir, "data/runs.log"), "");
    const forced = await runDatabuild(["build", "--force", "clean/1"], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
    expect(await rebuild(dir)).toEqual(["report/1"]);
  }, 60_000);
});
