// Config limits and Ctrl-C while planning, as a user meets them: the real
// bin, real config processes (with a background child each), the process
// table checked afterwards.
import { fromJsonString } from "@bufbuild/protobuf";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BuildEventSchema, BuildRequestStatus } from "../../gen/databuild_pb.ts";
import { diagramViolations } from "../../core/diagrams/diagram-paths.ts";
import { manifestJob, manifestProject } from "../../testing/manifest-project.ts";
import { HANGING_CONFIG_SH, isRunning, recordedPids, waitUntil } from "../../testing/processes.ts";
import { DATABUILD_API, DATABUILD_BIN, runDatabuild, tempDir, writeFiles } from "../../testing/run-cli.ts";

/** A project whose job "hung" has a config that hangs (`extra`: more keys of the job). */
function hangingProject(extra = ""): string {
  return manifestProject({
    "databuild.yaml": `name: limits
jobs:
  - label: hung
    outputs: ["hung/{x}"]
    config: ["jobs/hang.sh"]
    exec: ["true"]
${extra}${manifestJob("quick", "quick/{x}", ["true"])}`,
    "jobs/hang.sh": HANGING_CONFIG_SH,
  });
}

function expectNoneRunning(dir: string, count = 2): void {
  const pids = recordedPids(join(dir, "pids"));
  expect(pids).toHaveLength(count);
  for (const pid of pids) expect(isRunning(pid), `pid ${pid} still runs`).toBe(false);
}

/** Starts `databuild ...args` in `dir`; `interrupt` sends it a signal, `done` resolves with its exit and stderr. */
function startDatabuild(args: string[], dir: string) {
  const child = spawn(process.execPath, [DATABUILD_BIN, ...args], {
    cwd: dir,
    env: { ...process.env, DATABUILD_GRAPH: "", DATABUILD_DB: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string; stdout: string; at: number }>((resolve) =>
    child.on("close", (code) => resolve({ code, stderr, stdout, at: Date.now() })),
  );
  return { child, done, interrupt: (signal: NodeJS.Signals = "SIGINT") => child.kill(signal) };
}

describe("config limits on the command line", () => {
  it("analyze fails a hung config at --config-timeout, naming job, refs and limit, and leaves no process", async () => {
    const dir = hangingProject();
    const started = Date.now();
    const result = await runDatabuild(["analyze", "--config-timeout", "0.5", "hung/1", "hung/2"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('config of job "hung" failed for hung/1, hung/2:');
    expect(result.stderr).toContain("did not finish within its time limit of 0.5 s (set by --config-timeout)");
    expect(Date.now() - started).toBeLessThan(10_000);
    expectNoneRunning(dir);
  });

  it("a TypeScript config function past its limit fails, and its pending timer does not keep databuild running", async () => {
    const dir = writeFiles(tempDir("databuild-ts-config-"), {
      "package.json": '{ "type": "module" }',
      "databuild.ts": `import { defineGraph, defineJob } from ${JSON.stringify(DATABUILD_API)};
const slow = defineJob({
  label: "slow",
  outputs: ["slow/{n}"],
  configTimeoutSeconds: 1,
  config: async () => { await new Promise((r) => setTimeout(r, 60_000)); return {}; },
  exec: () => {},
});
export default defineGraph({ label: "t", jobs: [slow] });
`,
    });
    const started = Date.now();
    const result = await runDatabuild(["analyze", "slow/1"], { cwd: dir });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/config of job "slow" failed for slow\/1: .*time limit of 1 s/);
    // The config's own 60 s timer is still pending when the command ends.
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);

  it("lets a job's config_timeout_seconds win over --config-timeout", async () => {
    const dir = hangingProject("    config_timeout_seconds: 0.3\n");
    const result = await runDatabuild(["mermaid", "--config-timeout", "600", "hung/1"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("time limit of 0.3 s (the job's config_timeout_seconds)");
    expectNoneRunning(dir);
  });

  it("explain says the plan failed at the limit; mermaid and build fail at --config-max-output", async () => {
    const dir = manifestProject({
      "databuild.yaml": `name: chatty\njobs:\n  - label: hung\n    outputs: ["hung/{x}"]\n    config: ["jobs/hang.sh"]\n    exec: ["true"]\n  - label: chatty\n    outputs: ["chatty/{x}"]\n    config: ["yes"]\n    exec: ["true"]\n`,
      "jobs/hang.sh": HANGING_CONFIG_SH,
    });
    const explain = await runDatabuild(["explain", "--json", "--config-timeout", "0.3", "hung/1"], { cwd: dir });
    expect(explain.code).toBe(0);
    expect(JSON.parse(explain.stdout).wouldRunError).toContain("time limit of 0.3 s (set by --config-timeout)");
    expectNoneRunning(dir);
    const mermaid = await runDatabuild(["mermaid", "--config-max-output", "4KiB", "chatty/1"], { cwd: dir });
    expect(mermaid.code).toBe(1);
    expect(mermaid.stderr).toContain(
      'config of job "chatty" failed for chatty/1: config command "yes" printed more than its output cap of 4 KiB on stdout (set by --config-max-output)',
    );
    const build = await runDatabuild(["build", "--config-max-output", "1000", "chatty/1"], { cwd: dir });
    expect(build.code).toBe(1);
    expect(build.stderr).toContain("output cap of 1000 bytes");
    const usage = await runDatabuild(["analyze", "--config-max-output", "lots", "chatty/1"], { cwd: dir });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--config-max-output must be a whole number of bytes");
  });
});

describe("Ctrl-C while planning", () => {
  it("analyze stops its config commands and exits 1 at once", async () => {
    const dir = hangingProject();
    const run = startDatabuild(["analyze", "hung/1"], dir);
    await waitUntil(() => recordedPids(join(dir, "pids")).length === 2);
    const sent = Date.now();
    run.interrupt();
    const { code, stderr, at } = await run.done;
    expect(code).toBe(1);
    expect(at - sent).toBeLessThan(2000);
    expect(stderr).toContain("planning cancelled: interrupted (SIGINT)");
    expectNoneRunning(dir);
  });

  it("build cancels within a second, records the cancelled build request, exits 1 and leaves no process", async () => {
    const dir = hangingProject();
    const run = startDatabuild(["build", "hung/1", "quick/1"], dir);
    await waitUntil(() => recordedPids(join(dir, "pids")).length === 2);
    const sent = Date.now();
    run.interrupt();
    const { code, stderr, at } = await run.done;
    expect(code).toBe(1);
    expect(at - sent).toBeLessThan(2000);
    expect(stderr).toContain("Build cancelled");
    expect(stderr).toContain("cancelled while planning");
    expectNoneRunning(dir);
    const builds = await runDatabuild(["builds", "--json"], { cwd: dir });
    const view = JSON.parse(builds.stdout.trim());
    expect(view.status).toBe(BuildRequestStatus[BuildRequestStatus.BUILD_REQUEST_CANCELLED]);
    const events = (await runDatabuild(["events", "--json"], { cwd: dir })).stdout
      .trim()
      .split("\n")
      .map((line) => fromJsonString(BuildEventSchema, line));
    expect(diagramViolations(events)).toEqual([]);
    // Only the running config was stopped; nothing was claimed or run.
    expect(events.some((e) => e.event.case === "partitionsClaimed" || e.event.case === "jobScheduleSuccess")).toBe(
      false,
    );
  });

  it("a second Ctrl-C exits at once with 130, and the config processes die with databuild", async () => {
    const dir = manifestProject({
      "databuild.yaml": `name: stubborn\njobs:\n  - label: hung\n    outputs: ["hung/{x}"]\n    config: ["jobs/hang.sh"]\n    exec: ["true"]\n`,
      // Ignores SIGTERM: only the SIGKILL databuild sends as it exits stops it.
      "jobs/hang.sh": HANGING_CONFIG_SH.replace("#!/bin/sh\n", "#!/bin/sh\ntrap '' TERM\n"),
    });
    const run = startDatabuild(["build", "hung/1"], dir);
    await waitUntil(() => recordedPids(join(dir, "pids")).length === 2);
    run.interrupt();
    await new Promise((resolve) => setTimeout(resolve, 200));
    run.interrupt();
    const { code } = await run.done;
    expect(code).toBe(130);
    // SIGKILL is immediate, but the kernel may take a moment to tear the processes down.
    await waitUntil(() => recordedPids(join(dir, "pids")).every((pid) => !isRunning(pid)), 2000);
    expectNoneRunning(dir);
  });
});
