// `databuild analyze`, `mermaid` and `jobs` as a user runs them: the real bin
// on the repo's TypeScript example and on throwaway graph files.
import { fromJsonString } from "@bufbuild/protobuf";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GraphDescriptionSchema, JobGraphSchema } from "../../gen/databuild_pb.ts";
import { manifestProject } from "../../testing/manifest-project.ts";
import { DATABUILD_API, REPO_ROOT, runDatabuild, tempDir, writeFiles } from "../../testing/run-cli.ts";

const WEATHER = join(REPO_ROOT, "examples/weather/databuild.ts");

function graphFile(body: string): string {
  const dir = writeFiles(tempDir(), {
    "package.json": '{ "type": "module" }',
    "databuild.ts": `import { defineGraph, defineJob } from ${JSON.stringify(DATABUILD_API)};\n${body}`,
  });
  return join(dir, "databuild.ts");
}

describe("databuild analyze", () => {
  it("prints the tasks in dependency order", async () => {
    const result = await runDatabuild(["--graph", WEATHER, "analyze", "weekly_report/week=2024-W18"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^29 tasks to materialize 1 requested partition \(graph weather\)/);
    const lines = result.stdout.split("\n");
    const first = (ref: string) => lines.findIndex((l) => l.includes(` ${ref}`));
    expect(first("observations/city=oslo/date=2024-05-05")).toBeLessThan(first("daily_stats/date=2024-05-05"));
    expect(first("daily_stats/date=2024-05-05")).toBeLessThan(first("weekly_report/week=2024-W18"));
    expect(result.stdout).toContain("(+4 more)");
  });

  it("prints the JobGraph as proto JSON with --json", async () => {
    const result = await runDatabuild(["analyze", "--json", "heat_alerts/date=2024-05-01"], {
      env: { DATABUILD_GRAPH: WEATHER },
    });
    expect(result.code).toBe(0);
    const jobGraph = fromJsonString(JobGraphSchema, result.stdout);
    expect(jobGraph.label).toBe("weather");
    expect(jobGraph.nodes.map((t) => t.job!.label)).toEqual([
      "observations",
      "observations",
      "observations",
      "daily_stats",
      "heat_alerts",
    ]);
    const raw = JSON.parse(result.stdout);
    expect(raw.outputs).toEqual([{ str: "heat_alerts/date=2024-05-01" }]);
    const alerts = raw.nodes[4].config;
    expect(alerts.inputs).toContainEqual({ depType: "QUERY", partitionRef: { str: "heat_alerts/date=2024-04-30" } });
    expect(alerts.inputs).toContainEqual({
      depType: "MATERIALIZE",
      partitionRef: { str: "daily_stats/date=2024-05-01" },
    });
    expect(alerts.args).toEqual(["data/daily_stats/date=2024-05-01", "data/heat_alerts/date=2024-05-01"]);
  });

  it("exits 1 naming a ref no job produces and the patterns", async () => {
    const result = await runDatabuild(["--graph", WEATHER, "analyze", "rainfall/date=2024-05-01"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no job produces partition "rainfall/date=2024-05-01"');
    expect(result.stderr).toContain("daily_stats/date={date}  (job daily_stats)");
  });

  it("exits 1 naming the job and ref when a config throws", async () => {
    const file =
      graphFile(`export default defineGraph({ label: "g", jobs: [defineJob({ label: "weekly", outputs: ["weekly/week={week}"],
      config: ({ week }) => { throw new Error("week " + week + " is not an ISO week"); }, exec: () => {} })] });`);
    const result = await runDatabuild(["--graph", file, "analyze", "weekly/week=May"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('config of job "weekly" failed for weekly/week=May: week May is not an ISO week');
  });

  it.each([
    ["exits non-zero", 'echo "cannot reach the catalog" >&2; exit 7', /exited with code 7/],
    ["prints invalid JSON", "echo not-json", /printed invalid JSON on stdout/],
    ["omits the requested ref", "echo '{\"configs\": []}'", /"clean\/3" not in the outputs/],
  ])("exits 1 naming the job and ref when a manifest job's config %s", async (_what, script, problem) => {
    const dir = manifestProject({
      "databuild.yaml": `name: m\njobs:\n  - label: clean\n    outputs: ["clean/{x}"]\n    config: ["bash", "-c", ${JSON.stringify(script)}, "config"]\n    exec: ["true"]\n`,
    });
    const result = await runDatabuild(["analyze", "clean/3"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('job "clean"');
    expect(result.stderr).toContain("clean/3");
    expect(result.stderr).toMatch(problem);
    if (script.includes("catalog")) expect(result.stderr).toContain("cannot reach the catalog");
  });

  it("exits 1 printing a cycle as a chain of refs", async () => {
    const file = graphFile(`export default defineGraph({ label: "g", jobs: [
      defineJob({ label: "a", outputs: ["a/{x}"], config: ({ x }) => ({ inputs: ["b/" + x] }), exec: () => {} }),
      defineJob({ label: "b", outputs: ["b/{x}"], config: ({ x }) => ({ inputs: ["a/" + x] }), exec: () => {} }),
    ] });`);
    const result = await runDatabuild(["--graph", file, "analyze", "a/1"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/dependency cycle: (a\/1 -> b\/1 -> a\/1|b\/1 -> a\/1 -> b\/1)/);
  });

  it("exits 2 naming both jobs when their patterns overlap", async () => {
    const file = graphFile(`export default defineGraph({ label: "g", jobs: [
      defineJob({ label: "daily", outputs: ["sales/{day}"], exec: () => {} }),
      defineJob({ label: "totals", outputs: ["sales/total"], exec: () => {} }),
    ] });`);
    const result = await runDatabuild(["--graph", file, "analyze", "sales/1"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('jobs "daily" and "totals" can both produce the same partition');
  });
});

describe("databuild mermaid", () => {
  it("prints a flowchart of partitions and jobs", async () => {
    const result = await runDatabuild(["--graph", WEATHER, "mermaid", "daily_stats/date=2024-05-01"]);
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith("flowchart LR\n")).toBe(true);
    expect(result.stdout).toContain('["daily_stats"]');
    expect(result.stdout).toContain('(["observations/city=tokyo/date=2024-05-01"])');
  });
});

describe("databuild jobs", () => {
  it("lists jobs with patterns, exec and version", async () => {
    const result = await runDatabuild(["--graph", WEATHER, "jobs"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("daily_stats  v1.0.0");
    expect(result.stdout).toContain("exec:    bash jobs/heat-alerts.sh");
  });

  it("prints a GraphDescription as proto JSON with --json", async () => {
    const result = await runDatabuild(["--graph", WEATHER, "jobs", "--json"]);
    expect(result.code).toBe(0);
    const description = fromJsonString(GraphDescriptionSchema, result.stdout);
    expect(description.jobs.map((j) => j.label!.label)).toEqual([
      "observations",
      "daily_stats",
      "weekly_report",
      "heat_alerts",
    ]);
    expect(description.jobs[3]!.execCommand).toEqual(["bash", "jobs/heat-alerts.sh"]);
    expect(description.jobs[1]!.definedAt).toMatch(/examples\/weather\/databuild\.ts:\d+$/);
  });
});
