import { spawn } from "node:child_process";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { BuildEventSchema, ExitCategory, JobRunRequestSchema, type BuildEvent } from "../gen/databuild_pb.ts";
import { runWrapperCommand } from "./wrapper-command.ts";
import { isAlive, kinds, loggedLines, makeRequest, only, waitDead } from "./fixtures/runs.ts";

const REPO_ROOT = join(import.meta.dirname, "..", "..");
const WRAPPER_MAIN = join(import.meta.dirname, "fixtures", "wrapper-main.ts");

function requestJson(command: string[], init: Parameters<typeof makeRequest>[1] = {}): string {
  return toJsonString(JobRunRequestSchema, makeRequest(command, init));
}

/** Parses stdout; throws on any line that is not a BuildEvent. */
function parseEvents(stdout: string): BuildEvent[] {
  expect(stdout.endsWith("\n")).toBe(true);
  return stdout
    .slice(0, -1)
    .split("\n")
    .map((line) => fromJsonString(BuildEventSchema, line));
}

async function runInProcess(stdin: string | Readable) {
  let stdout = "";
  let stderr = "";
  const code = await runWrapperCommand(
    stdin,
    { write: (text: string) => (stdout += text) },
    { stderr: { write: (text: string) => (stderr += text) } },
  );
  return { code, events: parseEvents(stdout), stderr };
}

describe("runWrapperCommand in process", () => {
  it("runs a request read from a stream and writes its events as JSON lines (exit 0)", async () => {
    const { code, events, stderr } = await runInProcess(
      Readable.from([requestJson(["bash", "-c", "cat >/dev/null; echo hello"], { jobRunId: "r-1" })]),
    );
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(kinds(events)).toEqual([
      "configValidateSuccess",
      "taskLaunchSuccess",
      "logEntry",
      "taskSuccess",
      "partitionManifest",
    ]);
    expect(only(events, "logEntry").line).toBe("hello");
    // The wrapper's events alone name the task (its first event), and the manifest its job.
    expect(only(events, "configValidateSuccess").task?.config?.outputs.map((o) => o.str)).toEqual(["out/p=1"]);
    const manifestTask = only(events, "partitionManifest").task;
    expect([manifestTask?.job?.label, manifestTask?.config]).toEqual(["test", undefined]);
    expect(events.every((e) => e.jobRunId === "r-1" && e.buildRequestId === "build-1")).toBe(true);
  });

  it("exits 1 when the job fails, with the reason on stderr", async () => {
    const { code, events, stderr } = await runInProcess(requestJson(["bash", "-c", "echo broken >&2; exit 4"]));
    expect(code).toBe(1);
    expect(only(events, "taskFailed")).toMatchObject({ exitCode: 4, stderrTail: ["broken"] });
    expect(stderr).toContain("exited with code 4");
  });

  it.each([
    ["invalid JSON", '{"task": ', /invalid JobRunRequest on stdin/],
    ["empty stdin", "", /stdin is empty/],
    ["an unknown field", '{"jobRunId": "r-9", "comand": ["true"]}', /comand/],
    ["a request without a task", '{"jobRunId": "r-9", "buildRequestId": "b", "command": ["true"]}', /no task/],
  ])("exits 2 on %s and still writes configValidateFail + jobExecFail", async (_name, stdin, pattern) => {
    const { code, events, stderr } = await runInProcess(stdin);
    expect(code).toBe(2);
    expect(kinds(events)).toEqual(["configValidateFail", "jobExecFail"]);
    expect(only(events, "configValidateFail").message).toMatch(pattern);
    expect(only(events, "jobExecFail").category).toBe(ExitCategory.EXIT_CONFIG_INVALID);
    expect(stderr).toMatch(pattern);
  });

  it("keeps the ids of an undecodable request in its events", async () => {
    const { events } = await runInProcess('{"jobRunId": "r-9", "buildRequestId": "b-9", "timeoutMs": "soon"}');
    expect(events.map((e) => [e.buildRequestId, e.jobRunId])).toEqual([
      ["b-9", "r-9"],
      ["b-9", "r-9"],
    ]);
  });

  it("cancels the job on SIGTERM and still writes the final events", async () => {
    const signals = new PassThrough();
    let stdout = "";
    const done = runWrapperCommand(
      requestJson(["bash", "-c", "echo started; sleep 1000"]),
      {
        write: (text: string) => {
          stdout += text;
          if (text.includes('"logEntry"')) signals.emit("SIGTERM", "SIGTERM");
        },
      },
      { signals, stderr: { write: () => true } },
    );
    expect(await done).toBe(1);
    const events = parseEvents(stdout);
    expect(only(events, "jobExecFail")).toMatchObject({ category: ExitCategory.EXIT_CANCELLED });
    expect(only(events, "taskFailed").message).toContain("the wrapper received SIGTERM");
    expect(signals.listenerCount("SIGTERM")).toBe(0);
  });
});

interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node args...` with `stdin`; `onStdout` sees stdout as it grows. */
function runNode(
  args: string[],
  stdin: string,
  onStdout?: (text: string, pid: number) => void,
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      onStdout?.(stdout, child.pid!);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** `databuild wrapper` through the real bin. */
const databuildWrapper = (stdin: string) => runNode(["bin/databuild.js", "wrapper"], stdin);

/** runWrapperCommand as its own process without the CLI around it (starts faster than the bin). */
const standalone = (stdin: string, onStdout?: (text: string, pid: number) => void) =>
  runNode(["--import", "tsx", WRAPPER_MAIN], stdin, onStdout);

describe("the wrapper as its own process", () => {
  it("prints only BuildEvent JSON lines on stdout and exits 0, 1 or 2", async () => {
    const [ok, failed, invalid] = await Promise.all([
      databuildWrapper(
        requestJson(["python3", "-c", "import sys; print('to stdout'); print('to stderr', file=sys.stderr)"]),
      ),
      standalone(requestJson(["node", "-e", "process.exit(7)"])),
      standalone("not json"),
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stderr.replace(/^npm warn.*\n/gm, "")).toBe("");
    const okEvents = parseEvents(ok.stdout);
    expect(kinds(okEvents).at(-1)).toBe("partitionManifest");
    expect(
      loggedLines(okEvents)
        .map((l) => l.line)
        .sort(),
    ).toEqual(["to stderr", "to stdout"]);
    expect(failed.code).toBe(1);
    expect(only(parseEvents(failed.stdout), "taskFailed").exitCode).toBe(7);
    expect(failed.stderr).toContain("exited with code 7");
    expect(invalid.code).toBe(2);
    expect(kinds(parseEvents(invalid.stdout))).toEqual(["configValidateFail", "jobExecFail"]);
    expect(invalid.stderr).toContain("invalid JobRunRequest on stdin");
  }, 15_000);

  it("on SIGTERM cancels the job, kills it and writes the final events", async () => {
    let signalled = false;
    const result = await standalone(
      requestJson(["bash", "-c", "sleep 1000 & echo $!; wait"], { killGraceMs: 1000 }),
      (stdout, pid) => {
        if (!signalled && stdout.includes('"logEntry"')) {
          signalled = true;
          process.kill(pid, "SIGTERM");
        }
      },
    );
    expect(result.code).toBe(1);
    const events = parseEvents(result.stdout);
    expect(only(events, "jobExecFail").category).toBe(ExitCategory.EXIT_CANCELLED);
    const sleepPid = Number(only(events, "logEntry").line);
    expect(await waitDead(sleepPid)).toBe(true);
    expect(isAlive(only(events, "taskLaunchSuccess").pid)).toBe(false);
  }, 15_000);
});
