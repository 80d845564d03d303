import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { toJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { DepType, JobConfigSchema } from "../gen/databuild_pb.ts";
import { ConfigError } from "../core/errors.ts";
import type { CommandExec } from "../core/job.ts";
import { analyze } from "../planner/analyze.ts";
import { loadManifestFile } from "./load-manifest.ts";

const EXAMPLE = fileURLToPath(new URL("../../examples/basic", import.meta.url));

/** A copy of examples/basic in a temp directory, so runs never write into the repository. */
function exampleCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "databuild-example-basic-"));
  cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !/[/\\](data|\.databuild)$/.test(src) });
  return dir;
}

describe("examples/basic", () => {
  it("plans, and its jobs speak the exec protocol: args appended, JobConfig on stdin, outputs renamed into place", async () => {
    const dir = exampleCopy();
    const graph = await loadManifestFile(join(dir, "databuild.yaml"));
    expect(graph.jobs.map((j) => j.label)).toEqual(["numbers", "squares", "summary"]);

    const plan = await analyze(graph, ["summary/month=2024-01"]);
    expect(plan.nodes.map((t) => t.job?.label).sort()).toEqual([
      ...Array(7).fill("numbers"),
      ...Array(7).fill("squares"),
      "summary",
    ]);
    const squares = plan.nodes.find((t) => t.config?.outputs[0]?.str === "squares/date=2024-01-02")!;
    expect(squares.config!.inputs.map((i) => [i.partitionRef?.str, i.depType])).toEqual([
      ["numbers/date=2024-01-02", DepType.MATERIALIZE],
      ["squares/date=2024-01-01", DepType.QUERY],
    ]);

    // Run the tasks in plan order the way the exec wrapper does (SPEC 3.2).
    for (const [index, task] of plan.nodes.entries()) {
      const job = graph.job(task.job!.label)!;
      const exec = job.exec as CommandExec;
      const [program, ...rest] = exec.command;
      const run = spawnSync(program!, [...rest, ...task.config!.args], {
        cwd: exec.cwd,
        input: toJsonString(JobConfigSchema, task.config!),
        env: {
          ...process.env,
          ...task.config!.env,
          DATABUILD_JOB_LABEL: job.label,
          DATABUILD_BUILD_ID: "b1",
          DATABUILD_JOB_RUN_ID: `r${index}`,
        },
        encoding: "utf8",
      });
      expect(run.status, `${job.label}: ${run.stderr}`).toBe(0);
      for (const output of task.config!.outputs) expect(existsSync(join(dir, "data", `${output.str}.txt`))).toBe(true);
    }

    expect(readFileSync(join(dir, "data/numbers/date=2024-01-03.txt"), "utf8")).toBe("1\n2\n3\n");
    expect(readFileSync(join(dir, "data/squares/date=2024-01-03.txt"), "utf8")).toBe("1\n4\n9\n");
    // 1 + 5 + 14 + 30 + 55 + 91 + 140: the sums of squares of 1..D for D = 1..7.
    expect(readFileSync(join(dir, "data/summary/month=2024-01.txt"), "utf8")).toBe(
      "month=2024-01 days=01..07 sum_of_squares=336\n",
    );
    const leftovers = ["numbers", "squares", "summary"].flatMap((d) =>
      readdirSync(join(dir, "data", d)).filter((f) => f.includes(".tmp.")),
    );
    expect(leftovers).toEqual([]);
  });

  it("is quoted verbatim in docs/job-protocol.md", () => {
    const doc = readFileSync(join(EXAMPLE, "../../docs/job-protocol.md"), "utf8");
    for (const script of ["jobs/squares.py", "jobs/numbers.sh"]) {
      expect(
        doc.includes(readFileSync(join(EXAMPLE, script), "utf8")),
        `${script} differs from its copy in the doc`,
      ).toBe(true);
    }
  });

  it("fails config for a ref its job cannot parse, with the job's stderr", async () => {
    const graph = await loadManifestFile(join(exampleCopy(), "databuild.yaml"));
    const error = await analyze(graph, ["summary/month=2024-13"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).job).toBe("summary");
    expect((error as ConfigError).stderr).toContain(
      "cannot configure summary/month=2024-13: expected summary/month=YYYY-MM",
    );
  });
});
