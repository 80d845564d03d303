// The CLI's contract for wrong use (SPEC 3.4): --help everywhere, exit 2 with
// a message naming the flag, ref or file at fault.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DATABUILD_API, REPO_ROOT, runDatabuild, tempDir, writeFiles } from "../testing/run-cli.ts";

const WEATHER = join(REPO_ROOT, "examples/weather/databuild.ts");

describe("databuild CLI usage", () => {
  it.each([[[]], [["analyze"]], [["mermaid"]], [["jobs"]]])("prints --help for %j and exits 0", async (command) => {
    const result = await runDatabuild([...command, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: databuild");
    expect(result.stdout).toContain("--graph");
  });

  it("rejects an unknown flag with exit 2, naming it", async () => {
    const result = await runDatabuild(["--graph", WEATHER, "analyze", "--frobnicate", "x"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--frobnicate");
  });

  it.each([
    [["--heartbeat-timeout", "0"], /--heartbeat-timeout/],
    [
      ["--heartbeat", "10", "--heartbeat-timeout", "5"],
      /--heartbeat-timeout \(5 s\) must be longer than --heartbeat \(10 s\)/,
    ],
  ])("rejects a bad lease %j with exit 2, naming the flag", async (flags, message) => {
    const result = await runDatabuild(["--graph", WEATHER, "build", ...flags, "daily_stats/date=2024-05-01"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it("rejects an unknown command with exit 2", async () => {
    const result = await runDatabuild(["analyse"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'analyse'/);
  });

  it.each([
    ["", "empty"],
    ["daily_stats/date= 2024-05-01", "whitespace"],
    ["daily_stats/date=2024-05-01\u0001", "control"],
  ])("rejects the malformed ref %j with exit 2, naming it", async (ref, problem) => {
    const result = await runDatabuild(["--graph", WEATHER, "analyze", ref]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`malformed partition ref ${JSON.stringify(ref)}`);
    expect(result.stderr).toContain(problem);
  });

  it("exits 2 naming the path when --graph does not exist", async () => {
    const result = await runDatabuild(["--graph", "nowhere/databuild.ts", "jobs"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(join(REPO_ROOT, "nowhere/databuild.ts"));
    expect(result.stderr).toContain("not found");
  });

  it("exits 2 listing the default names when no graph file is found", async () => {
    const result = await runDatabuild(["jobs"], { cwd: tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("databuild.ts, databuild.js, databuild.yaml, databuild.json");
  });

  it("exits 2 naming the file when a TypeScript graph does not compile", async () => {
    const dir = writeFiles(tempDir(), { "databuild.ts": "export default defineGraph({ label: 'x', jobs: [ }\n" });
    const result = await runDatabuild(["jobs"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(join(dir, "databuild.ts"));
  });

  it("exits 2 when a module exports no graph", async () => {
    const dir = writeFiles(tempDir(), { "databuild.ts": "export const nothing = 1;\n" });
    const result = await runDatabuild(["jobs"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("exports no graph");
  });

  it("exits 2 naming the job and pattern problem in a TypeScript graph", async () => {
    const dir = writeFiles(tempDir(), {
      "package.json": '{ "type": "module" }',
      "databuild.ts": `import { defineGraph, defineJob } from ${JSON.stringify(DATABUILD_API)};
export default defineGraph({ label: "g", jobs: [defineJob({ label: "bad", outputs: ["x/{a}/{a}"], exec: () => {} })] });
`,
    });
    const result = await runDatabuild(["jobs"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('job "bad"');
    expect(result.stderr).toContain("duplicate parameter {a}");
    expect(result.stderr).toContain("databuild.ts:2");
  });

  it("finds the graph through $DATABUILD_GRAPH", async () => {
    const result = await runDatabuild(["jobs"], { cwd: tempDir(), env: { DATABUILD_GRAPH: WEATHER } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("graph weather");
  });
});
