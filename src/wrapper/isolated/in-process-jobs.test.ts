/**
 * In-process TypeScript jobs through the real CLI (SPEC 3.2): a job that
 * spins, calls process.exit or throws fails itself, with a message naming
 * it, and the build records everything and ends normally.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExitCategory, PartitionStatus } from "../../gen/databuild_pb.ts";
import { openSqliteEventLog } from "../../event-log/sqlite/open-sqlite-event-log.ts";
import { DATABUILD_API, runDatabuild, tempDir, writeFiles } from "../../testing/run-cli.ts";

const graph = `import { writeFileSync, mkdirSync } from "node:fs";
import { defineGraph, defineJob } from ${JSON.stringify(DATABUILD_API)};
export default defineGraph({
  label: "faulty",
  jobs: [
    defineJob({ label: "spin", outputs: ["spin/{n}"], timeoutSeconds: 1, exec: async () => { while (true) {} } }),
    defineJob({ label: "exiter", outputs: ["exit/{n}"], exec: () => { process.exit(3); } }),
    defineJob({ label: "thrower", outputs: ["throw/{n}"], exec: () => { throw new Error("no data for " + "today"); } }),
    defineJob({
      label: "fine",
      outputs: ["fine/{n}"],
      exec: (config) => { mkdirSync("data", { recursive: true }); writeFileSync("data/fine", config.outputs[0]!.str); },
    }),
  ],
});
`;

describe("in-process jobs through databuild build", () => {
  it("a spinning, an exiting and a throwing job each fail themselves; the rest builds and everything is recorded", async () => {
    const dir = writeFiles(tempDir("databuild-faulty-"), {
      "package.json": '{ "type": "module" }',
      "databuild.ts": graph,
    });
    const started = Date.now();
    const result = await runDatabuild(["build", "-k", "spin/1", "exit/1", "throw/1", "fine/1"], { cwd: dir });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('job "spin" timed out after 1 s [EXIT_TIMEOUT]');
    expect(result.stderr).toContain('job "exiter" called process.exit(3) before its exec function ended [exit code 3]');
    expect(result.stderr).toContain('job "thrower" threw: no data for today');
    expect(result.stderr).not.toContain("undefined");
    expect(result.stderr).toMatch(/3 jobs failed.*1 job succeeded/);

    const log = await openSqliteEventLog(join(dir, ".databuild", "databuild.db"));
    try {
      const events = (await log.read(0)).map((l) => l.event);
      const last = new Map<string, PartitionStatus>();
      for (const e of events)
        if (e.event.case === "partitionStatusChanged") last.set(e.event.value.partitionRef!.str, e.event.value.status);
      expect(Object.fromEntries(last)).toEqual({
        "spin/1": PartitionStatus.PARTITION_FAILED,
        "exit/1": PartitionStatus.PARTITION_FAILED,
        "throw/1": PartitionStatus.PARTITION_FAILED,
        "fine/1": PartitionStatus.PARTITION_AVAILABLE,
      });
      const categories = events.flatMap((e) => (e.event.case === "taskFailed" ? [e.event.value.category] : []));
      expect(categories.sort()).toEqual(
        [ExitCategory.EXIT_JOB_FAILURE, ExitCategory.EXIT_JOB_FAILURE, ExitCategory.EXIT_TIMEOUT].sort(),
      );
      expect(events.at(-1)!.event.case).toBe("buildRequestStatusChanged");
    } finally {
      await log.close();
    }
  }, 60_000);
});
