/**
 * `databuild package wrapper`: the executable it writes runs jobs from a
 * JobRunRequest on a host with no node (`env -i`, a PATH without node),
 * printing the same events `databuild wrapper` prints.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { noNodeEnv } from "../testing/no-node-path.ts";
import { runDatabuild, runProcess, tempDir, type CliResult } from "../testing/run-cli.ts";

const dir = tempDir("databuild-packaged-wrapper-");
const wrapper = join(dir, "databuild-wrapper");

interface Event {
  [kind: string]: unknown;
  jobRunId?: string;
}

function request(command: string[], extra: object = {}): string {
  return JSON.stringify({
    task: { job: { label: "shout" }, config: { outputs: [{ str: "shout/1" }], args: ["hello world"] } },
    command,
    cwd: dir,
    jobRunId: "run-1",
    buildRequestId: "build-1",
    ...extra,
  });
}

/** The events' kinds in order, a run of log entries (however the output was batched) as one. */
function kinds(stdout: string): string[] {
  const all = events(stdout).map((e) =>
    Object.keys(e).find((k) => !["eventId", "timestamp", "buildRequestId", "jobRunId"].includes(k))!,
  );
  return all.filter((kind, i) => kind !== "logEntry" || all[i - 1] !== "logEntry");
}

function events(stdout: string): Event[] {
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Event);
}

function runPackaged(input: string): Promise<CliResult> {
  return runProcess(wrapper, [], { cwd: dir, env: noNodeEnv(), input });
}

beforeAll(async () => {
  const packaged = await runDatabuild(["package", "wrapper", "-o", wrapper], { cwd: dir });
  expect(packaged.stderr).toMatch(/wrote .*databuild-wrapper \(\d+ MB/);
  expect(packaged.code).toBe(0);
}, 120_000);

describe("databuild package wrapper", () => {
  it("writes one executable that runs a job from a JobRunRequest where there is no node", async () => {
    const job = [
      "sh",
      "-c",
      'command -v node || echo "no node here"; echo "$1" > shout.txt; echo "to stderr" >&2; cat',
      "shout",
    ];
    const ran = await runPackaged(request(job));
    expect(ran.stderr).toBe("");
    expect(ran.code).toBe(0);
    expect(kinds(ran.stdout)).toEqual([
      "configValidateSuccess",
      "taskLaunchSuccess",
      "logEntry",
      "taskSuccess",
      "partitionManifest",
    ]);
    const lines = events(ran.stdout)
      .flatMap((e) => (e.logEntry as { lines?: { line: string }[]; line?: string } | undefined) ?? [])
      .flatMap((entry) => entry.lines?.map((l) => l.line) ?? [entry.line]);
    // The job saw no node, got its args, and read its JobConfig on stdin.
    expect(lines).toContain("no node here");
    expect(lines).toContain("to stderr");
    expect(lines.join("\n")).toContain('"args":["hello world"]');
    expect(readFileSync(join(dir, "shout.txt"), "utf8")).toBe("hello world\n");
    expect(events(ran.stdout).every((e) => e.jobRunId === "run-1")).toBe(true);
  });

  it("reports a failing job in its events and exits 1", async () => {
    const ran = await runPackaged(request(["sh", "-c", 'echo "cannot shout" >&2; exit 3']));
    expect(kinds(ran.stdout)).toEqual([
      "configValidateSuccess",
      "taskLaunchSuccess",
      "logEntry",
      "taskFailed",
      "jobExecFail",
    ]);
    const failed = events(ran.stdout).find((e) => e.taskFailed)!.taskFailed as {
      exitCode: number;
      stderrTail: string[];
    };
    expect(failed.exitCode).toBe(3);
    expect(failed.stderrTail).toEqual(["cannot shout"]);
    expect(ran.stderr).toMatch(/job "shout" .* exited with code 3/);
    expect(ran.code).toBe(1);
  });

  it("refuses a request that is not a JobRunRequest (exit 2)", async () => {
    const ran = await runPackaged('{"task": 7}');
    expect(kinds(ran.stdout)).toEqual(["configValidateFail", "jobExecFail"]);
    expect(ran.stderr).toMatch(/invalid JobRunRequest on stdin/);
    expect(ran.code).toBe(2);
  });

  it("cancels the job on SIGTERM and still writes its last events", async () => {
    const child = spawn(wrapper, [], { cwd: dir, env: noNodeEnv(), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    child.stdin.end(request(["sh", "-c", "echo started; exec sleep 30"], { killGraceMs: 1000 }));
    while (!stdout.includes("started")) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill("SIGTERM");
    expect(await closed).toBe(1);
    const failed = events(stdout).find((e) => e.jobExecFail)!.jobExecFail as { category: string; message: string };
    expect(failed.category).toBe("EXIT_CANCELLED");
    expect(failed.message).toContain("the wrapper received SIGTERM");
  });

  it("names the node binary when it cannot make the executable (exit 2)", async () => {
    const out = join(dir, "never");
    const result = await runDatabuild(["package", "wrapper", "-o", out, "--node", "/bin/false"], { cwd: dir });
    expect(result.stderr).toMatch(
      /--node \/bin\/false: `\/bin\/false --experimental-sea-config .*` exited with code 1/,
    );
    expect(result.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});
