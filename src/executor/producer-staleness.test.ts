/**
 * A log remembers which graph's job produced each partition: two graphs
 * sharing one log (one folder) do not take each other's partitions as their
 * own when their jobs for a ref differ.
 */
import { describe, expect, it } from "vitest";
import { DATABUILD_API, runDatabuild, tempDir, writeFiles } from "../testing/run-cli.ts";

const graph = (label: string, job: string) => `import { mkdirSync, writeFileSync } from "node:fs";
import { defineGraph, defineJob } from ${JSON.stringify(DATABUILD_API)};
export default defineGraph({
  label: ${JSON.stringify(label)},
  jobs: [
    defineJob({
      label: ${JSON.stringify(job)},
      outputs: ["p/{n}"],
      exec: (config) => { mkdirSync("data", { recursive: true }); writeFileSync("data/p", ${JSON.stringify(label)}); },
    }),
  ],
});
`;

describe("partitions produced by another graph's job", () => {
  it("are stale for a graph whose job for the ref differs, and explain says who built them", async () => {
    const dir = writeFiles(tempDir("databuild-two-graphs-"), {
      "package.json": '{ "type": "module" }',
      "a.ts": graph("alpha", "make_p"),
      "b.ts": graph("beta", "make_p_too"),
      "a2.ts": graph("alpha", "make_p"),
    });
    const db = ["--db", ".databuild/shared.db"];
    const first = await runDatabuild(["--graph", "a.ts", ...db, "build", "p/1"], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    // The same graph (another file, same label and job) uses it as it is.
    const again = await runDatabuild(["--graph", "a2.ts", ...db, "build", "p/1"], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/nothing to do|already available/i);

    const explained = await runDatabuild(["--graph", "b.ts", ...db, "explain", "p/1"], { cwd: dir });
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toContain(
      "built by job make_p of graph alpha; job make_p_too of graph beta produces it now",
    );

    const other = await runDatabuild(["--graph", "b.ts", ...db, "build", "p/1"], { cwd: dir });
    expect(other.code, other.stderr).toBe(0);
    expect(other.stderr).toMatch(/built 1 partition/);
  }, 60_000);
});
