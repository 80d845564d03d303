/**
 * `databuild build --launcher slurm` on a real single-node SLURM cluster
 * (scripts/slurm-cluster.mjs starts it): builds a manifest graph through
 * sbatch, with the events coming back only through the files on disk; a
 * job failing on the node, an scancel of a running task, a compute job
 * killed with kill -9, and a cancelled build.
 */
import { fromJsonString } from "@bufbuild/protobuf";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { BuildEventSchema, ExitCategory, type BuildEvent } from "../../gen/databuild_pb.ts";
import { diagramViolations, eventsByBuild } from "../../core/diagrams/diagram-paths.ts";
import { killCliProcesses, startCli } from "../../testing/cli-process.ts";
import { COUNTING_JOB_SH, manifestJob, manifestProject } from "../../testing/manifest-project.ts";
import { runDatabuild, runProcess } from "../../testing/run-cli.ts";
import { requireSlurm, SKIP_SLURM, slurmJob, slurmJobsNamed } from "../../testing/slurm.ts";

/** A counting job (runs/<ref> gets a line per run) that also notes its wrapper's pid and what SLURM gave it. */
const JOB_SH = COUNTING_JOB_SH.replace(
  'echo run >> "runs/$1"',
  'echo run >> "runs/$1"\nmkdir -p "pids/$(dirname "$1")"\necho "$PPID $$" > "pids/$1"\necho "slurm job $SLURM_JOB_ID cpus=${SLURM_CPUS_PER_TASK:-} mem=${SLURM_MEM_PER_NODE:-} arg=${FROM_SLURM_ARG:-}"',
);

/** A unique label per test: the tests find their SLURM jobs by name (databuild:<label>). */
const unique = (label: string) => `${label}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;

function project(jobs: string): { dir: string; graph: string } {
  const dir = manifestProject({ "jobs/job.sh": JOB_SH, "databuild.yaml": `name: slurm_test\njobs:\n${jobs}` });
  return { dir, graph: join(dir, "databuild.yaml") };
}

async function eventsOf(graph: string): Promise<BuildEvent[]> {
  const result = await runDatabuild(["--graph", graph, "events", "--json"]);
  expect(result.code).toBe(0);
  return result.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => fromJsonString(BuildEventSchema, line));
}

function runsOf(dir: string, ref: string): number {
  const file = join(dir, "runs", ref);
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).length : 0;
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The failed ends of the given job runs: [category, message]. */
function ends(events: readonly BuildEvent[], jobRuns: ReadonlySet<string>): [string, string][] {
  return events.flatMap((e) =>
    e.event.case === "jobExecFail" && jobRuns.has(e.jobRunId)
      ? [[ExitCategory[e.event.value.category]!, e.event.value.message] as [string, string]]
      : [],
  );
}

function runIdsOf(events: readonly BuildEvent[], label: string): Set<string> {
  return new Set(
    events.flatMap((e) =>
      e.event.case === "jobScheduleSuccess" && e.event.value.task?.job?.label === label ? [e.jobRunId] : [],
    ),
  );
}

function expectValidPaths(events: readonly BuildEvent[]): void {
  for (const [id, own] of eventsByBuild(events)) expect(diagramViolations(own), id).toEqual([]);
}

afterEach(() => killCliProcesses());

describe("databuild build: SLURM options", () => {
  it("refuses --slurm-* and --wrapper without --launcher slurm (exit 2)", async () => {
    const { dir, graph } = project(manifestJob("a", "a/{x}", ["true"]));
    const result = await runDatabuild(["--graph", graph, "build", "--slurm-partition", "short", "a/1"], { cwd: dir });
    expect(result.stderr).toContain("--slurm-partition is for --launcher slurm (the launcher is local)");
    expect(result.code).toBe(2);
    expect(existsSync(join(dir, "runs"))).toBe(false);
  });
});

describe.skipIf(SKIP_SLURM)("databuild build --launcher slurm", () => {
  beforeAll(() => requireSlurm());

  it("builds a manifest graph through sbatch: every partition once, log lines recorded, resources as sbatch options", async () => {
    const raw = unique("raw");
    const clean = unique("clean");
    const { dir, graph } = project(
      manifestJob(raw, "raw/{x}", ["./jobs/job.sh"]) +
        manifestJob(
          clean,
          "clean/{x}",
          ["./jobs/job.sh"],
          "raw/{x}",
          `    timeout_seconds: 300\n    resources: { cpus: 1, memory: "100MiB" }\n`,
        ),
    );
    const refs = ["clean/1", "clean/2", "clean/3"];
    const built = await runDatabuild(
      [
        "--graph",
        graph,
        "build",
        "--launcher",
        "slurm",
        "-j",
        "6",
        "--slurm-arg=--export=ALL,FROM_SLURM_ARG=yes",
        ...refs,
      ],
      { cwd: dir },
    );
    expect(built.stderr).toContain("Build completed: built 6 partitions in 6 jobs");
    expect(built.code).toBe(0);
    for (const x of ["1", "2", "3"]) {
      expect(runsOf(dir, `raw/${x}`)).toBe(1);
      expect(runsOf(dir, `clean/${x}`)).toBe(1);
    }

    const events = await eventsOf(graph);
    expectValidPaths(events);
    const lines = events.flatMap((e) => (e.event.case === "logEntry" ? e.event.value.line.split("\n") : []));
    expect(lines).toContain("built clean/2");
    // The job ran inside SLURM with the job's resources and the --slurm-arg.
    expect(lines.find((l) => l.startsWith("slurm job") && l.includes("mem=100"))).toMatch(
      /^slurm job \d+ cpus=1 mem=100 arg=yes$/,
    );
    expect(lines.find((l) => l.startsWith("slurm job") && !l.includes("mem=100"))).toMatch(
      /^slurm job \d+ cpus= mem=\S* arg=yes$/,
    );
    const launched = events.flatMap((e) => (e.event.case === "taskLaunchSuccess" ? [e.event.value.hostname] : []));
    expect(launched).toEqual(Array(6).fill(hostname()));
    // The clean jobs' SLURM time limit: the job's timeout (300 s) + kill grace (5 s) + a minute, in minutes.
    const id = slurmJobsNamed(`databuild:${clean}`)[0]!;
    expect(slurmJob(id)).toMatchObject({ TimeLimit: "00:07:00", MinMemoryNode: "100M", JobState: "COMPLETED" });
    // What succeeded leaves no files behind.
    expect(readdirSync(join(dir, ".databuild", "slurm"))).toEqual([]);
  });

  it("refuses a --wrapper that is not an executable file (exit 2)", async () => {
    const { dir, graph } = project(manifestJob("a", "a/{x}", ["true"]));
    const result = await runDatabuild(
      ["--graph", graph, "build", "--launcher", "slurm", "--wrapper", "no-such-wrapper", "a/1"],
      { cwd: dir },
    );
    expect(result.stderr).toContain("--wrapper no-such-wrapper: not an executable file");
    expect(result.code).toBe(2);
  });

  it("fails the build with the stderr of a job that fails on the node", async () => {
    const label = unique("broken");
    const { dir, graph } = project(
      manifestJob(label, "broken/{x}", ["bash", "-c", 'echo "cannot build $1 on $(hostname)" >&2; exit 3', "job"]),
    );
    const built = await runDatabuild(["--graph", graph, "build", "--launcher", "slurm", "broken/1"], { cwd: dir });
    expect(built.stderr).toContain(`cannot build broken/1 on ${hostname()}`);
    expect(built.stderr).toMatch(/exited with code 3/);
    expect(built.code).toBe(1);
    const events = await eventsOf(graph);
    expectValidPaths(events);
    const failed = events.find((e) => e.event.case === "taskFailed")!.event;
    expect(failed.case === "taskFailed" && failed.value.exitCode).toBe(3);
    expect(ends(events, runIdsOf(events, label))).toEqual([
      ["EXIT_JOB_FAILURE", expect.stringMatching(/exited with code 3/) as string],
    ]);
  });

  it("reports a running task that scancel stops as cancelled, and does not retry it", async () => {
    const label = unique("held");
    const { dir, graph } = project(manifestJob(label, "held/{x}", ["./jobs/job.sh"]));
    const build = startCli(["--graph", graph, "build", "--launcher", "slurm", "--retries", "2", "held/1"], {
      cwd: dir,
      env: { GATE: join(dir, "never") },
    });
    await waitUntil("the job runs", () => runsOf(dir, "held/1") === 1);
    const [id] = slurmJobsNamed(`databuild:${label}`);
    const cancelled = await runProcess("scancel", [id!], { cwd: dir });
    expect(cancelled.code).toBe(0);
    const result = await build.done;
    expect(result.code).toBe(1);
    const events = await eventsOf(graph);
    expectValidPaths(events);
    expect(ends(events, runIdsOf(events, label))).toEqual([
      ["EXIT_CANCELLED", expect.stringContaining(`SLURM job ${id} was cancelled in SLURM`) as string],
    ]);
    expect(runsOf(dir, "held/1")).toBe(1);
  });

  it("declares a compute job killed with kill -9 lost, stops what it left, and retries it", async () => {
    const label = unique("killed");
    const { dir, graph } = project(manifestJob(label, "killed/{x}", ["./jobs/job.sh"]));
    const gate = join(dir, "gate");
    const build = startCli(["--graph", graph, "build", "--launcher", "slurm", "--retries", "1", "killed/1"], {
      cwd: dir,
      env: { GATE: gate },
    });
    await waitUntil("the job runs", () => existsSync(join(dir, "pids", "killed", "1")));
    const [wrapperPid, jobPid] = readFileSync(join(dir, "pids", "killed", "1"), "utf8")
      .trim()
      .split(" ")
      .map(Number);
    process.kill(wrapperPid!, "SIGKILL");
    // The batch script stops the job the wrapper left; SLURM reports the job failed; the build declares the run lost.
    await waitUntil("the job left behind is stopped", () => !alive(jobPid!), 10_000);
    await waitUntil("the run is retried", () => runsOf(dir, "killed/1") === 2);
    writeFileSync(gate, "");
    const result = await build.done;
    expect(result.stderr).toContain("Build completed: built 1 partition in 1 job");
    expect(result.code).toBe(0);
    const events = await eventsOf(graph);
    expectValidPaths(events);
    expect(ends(events, runIdsOf(events, label))).toEqual([
      [
        "EXIT_LOST",
        expect.stringMatching(
          /^SLURM job \d+ on \S+ failed \(FAILED, exit code 137:0\) before the wrapper .* it is lost$/,
        ) as string,
      ],
    ]); // then the retry's success (no jobExecFail)
  });

  it("cancels its SLURM jobs with scancel when the build is cancelled (Ctrl-C), and runs the wrapper given with --wrapper", async () => {
    const label = unique("stopped");
    const { dir, graph } = project(manifestJob(label, "stopped/{x}", ["./jobs/job.sh"]));
    // A wrapper of one's own (as `databuild package wrapper` makes one): here, databuild's behind a script that says it ran.
    const wrapper = join(dir, "my-wrapper");
    writeFileSync(
      wrapper,
      `#!/bin/sh\necho "my wrapper ran" >&2\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(import.meta.dirname, "..", "..", "..", "bin", "databuild.js"))} wrapper\n`,
      { mode: 0o755 },
    );
    const build = startCli(
      ["--graph", graph, "build", "--launcher", "slurm", "--wrapper", wrapper, "--kill-grace", "2", "stopped/1"],
      { cwd: dir, env: { GATE: join(dir, "never") } },
    );
    await waitUntil("the job runs", () => existsSync(join(dir, "pids", "stopped", "1")));
    const [, jobPid] = readFileSync(join(dir, "pids", "stopped", "1"), "utf8")
      .trim()
      .split(" ")
      .map(Number);
    build.child.kill("SIGINT");
    const result = await build.done;
    expect(result.code).toBe(1);
    expect(alive(jobPid!)).toBe(false);
    const events = await eventsOf(graph);
    expectValidPaths(events);
    const [id] = slurmJobsNamed(`databuild:${label}`);
    expect(ends(events, runIdsOf(events, label))).toEqual([
      ["EXIT_CANCELLED", expect.stringContaining(`(SLURM job ${id})`) as string],
    ]);
    expect(slurmJob(id!).JobState).toMatch(/^(FAILED|CANCELLED|COMPLETED)$/);
    const runFolder = readdirSync(join(dir, ".databuild", "slurm"));
    expect(readFileSync(join(dir, ".databuild", "slurm", runFolder[0]!, "slurm.out"), "utf8")).toContain(
      "my wrapper ran",
    );
  });
});
