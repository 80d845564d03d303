import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ExitCategory, LogStream } from "../../gen/databuild_pb.ts";
import type { FunctionExec } from "../../core/job.ts";
import { DATABUILD_API, tempDir, writeFiles } from "../../testing/run-cli.ts";
import { SUCCESS_PATH, collect, loggedLines, makeRequest, only, shape, startCollecting } from "../fixtures/runs.ts";
import { IsolatedFunctionRunner } from "./isolated-function-runner.ts";

// A real graph file: the worker threads load it and find each job's function by label.
const dir = writeFiles(tempDir("databuild-isolated-"), {
  "package.json": '{ "type": "module" }',
  "databuild.ts": `import { defineGraph, defineJob } from ${JSON.stringify(DATABUILD_API)};
const job = (label: string, exec: any) => defineJob({ label, outputs: [label + "/{p}"], exec });
export default defineGraph({
  label: "isolated",
  jobs: [
    job("talk", (config: any, ctx: any) => {
      ctx.log("made " + config.outputs[0].str);
      console.log("console line");
      console.error("warning line");
      process.stdout.write("no newline at the end");
    }),
    job("spin", () => { while (true) {} }),
    job("exit", () => { process.exit(3); }),
    job("throw", () => { throw new Error("boom"); }),
    job("reject", async () => { await Promise.resolve(); throw new Error("async boom"); }),
    job("crash", () => new Promise(() => { setTimeout(() => { throw new Error("from a timer"); }, 1); })),
    job("stubborn", () => new Promise((resolve) => setTimeout(resolve, 60_000))),
    job("polite", (_c: any, ctx: any) => new Promise((_r, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)))),
    job("block", () => { const end = Date.now() + 1000; while (Date.now() < end) {} }),
    job("hog", () => { const kept: string[] = []; for (;;) kept.push("x".repeat(1e5) + Math.random()); }),
  ],
});
`,
});
const runner = new IsolatedFunctionRunner(join(dir, "databuild.ts"));
afterAll(() => runner.close());

// The function itself runs on the worker; this one only says "a function job".
const fn: FunctionExec = { kind: "function", run: () => {} };

function request(label: string, init: Parameters<typeof makeRequest>[1] = {}) {
  const r = makeRequest([], init);
  r.task!.job!.label = label;
  r.task!.config!.outputs[0]!.str = `${label}/1`;
  return r;
}

describe("IsolatedFunctionRunner", () => {
  it("runs a job's function on a worker thread and logs what it writes, console included", async () => {
    const { events, outcome } = await collect(runner, request("talk"), fn);
    expect(outcome.kind).toBe("success");
    expect(shape(events)).toEqual(SUCCESS_PATH);
    const logs = loggedLines(events).map((l) => [l.stream, l.line]);
    expect(logs).toEqual(
      expect.arrayContaining([
        [LogStream.STDOUT, "made talk/1"],
        [LogStream.STDOUT, "console line"],
        [LogStream.STDERR, "warning line"],
        [LogStream.STDOUT, "no newline at the end"],
      ]),
    );
    expect(only(events, "partitionManifest").outputs.map((o) => o.str)).toEqual(["talk/1"]);
  });

  it("keeps databuild's event loop free while a job blocks its thread", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const { outcome } = await collect(runner, request("block"), fn);
    clearInterval(timer);
    expect(outcome.kind).toBe("success");
    // About 50 in the 1 s the job blocks; a job on databuild's own thread would allow none.
    expect(ticks).toBeGreaterThan(10);
  });

  it("stops a spinning job at its timeout, and the next run gets a fresh worker", async () => {
    const started = Date.now();
    const { outcome } = await collect(runner, request("spin", { timeoutMs: 300 }), fn);
    expect(outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_TIMEOUT });
    expect(outcome.kind === "failure" && outcome.message).toBe('job "spin" timed out after 0.3 s');
    expect(Date.now() - started).toBeLessThan(5_000);
    const next = await collect(runner, request("talk"), fn);
    expect(next.outcome.kind).toBe("success");
  });

  it("fails a job that calls process.exit with its exit code, and databuild goes on", async () => {
    const { events, outcome } = await collect(runner, request("exit"), fn);
    expect(outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_JOB_FAILURE, exitCode: 3 });
    expect(only(events, "taskFailed").message).toBe('job "exit" called process.exit(3) before its exec function ended');
  });

  it("fails a job that throws or rejects, with its stack and without the worker's own frames", async () => {
    for (const [label, message] of [
      ["throw", "boom"],
      ["reject", "async boom"],
    ]) {
      const { outcome } = await collect(runner, request(label!), fn);
      expect(outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_JOB_FAILURE });
      if (outcome.kind !== "failure") continue;
      expect(outcome.message).toBe(`job "${label}" threw: ${message}`);
      expect(outcome.stderrTail.join("\n")).toContain(`Error: ${message}`);
      expect(outcome.stderrTail.join("\n")).toContain("databuild.ts");
      expect(outcome.stderrTail.join("\n")).not.toContain("function-worker");
    }
  });

  it("fails a job whose worker crashes (an error thrown from a timer)", async () => {
    const { outcome } = await collect(runner, request("crash"), fn);
    expect(outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_JOB_FAILURE });
    expect(outcome.kind === "failure" && outcome.message).toBe('job "crash" crashed: from a timer');
  });

  it("cancels a job that honours its signal at once, and one that ignores it after the kill grace", async () => {
    const polite = startCollecting(runner, request("polite", { killGraceMs: 60_000 }), fn);
    setTimeout(() => polite.running.cancel("Ctrl-C"), 100);
    const started = Date.now();
    expect(await polite.outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_CANCELLED });
    // Well within its 60 s grace: it stopped when asked, not when killed (the bound leaves room for a loaded machine).
    expect(Date.now() - started).toBeLessThan(30_000);

    const stubborn = startCollecting(runner, request("stubborn", { killGraceMs: 300 }), fn);
    setTimeout(() => stubborn.running.cancel("Ctrl-C"), 100);
    const stubbornStarted = Date.now();
    expect(await stubborn.outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_CANCELLED });
    // Killed after its 300 ms grace: it ignores the signal and would otherwise run on.
    expect(Date.now() - stubbornStarted).toBeLessThan(30_000);
  });

  it("fails a job that exhausts its worker's heap, and databuild goes on", async () => {
    process.env.DATABUILD_FUNCTION_HEAP_MB = "64";
    const small = new IsolatedFunctionRunner(join(dir, "databuild.ts"), 0);
    try {
      const { outcome } = await collect(small, request("hog"), fn);
      expect(outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_JOB_FAILURE });
      expect(outcome.kind === "failure" && outcome.message).toBe(
        'job "hog" ran out of memory (its JavaScript heap limit) and was stopped',
      );
      expect((await collect(small, request("talk"), fn)).outcome.kind).toBe("success");
    } finally {
      delete process.env.DATABUILD_FUNCTION_HEAP_MB;
      await small.close();
    }
  }, 60_000);

  it("fails a run whose job the graph file does not have", async () => {
    const { outcome } = await collect(runner, request("missing"), fn);
    expect(outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_LAUNCH_FAILURE });
    expect(outcome.kind === "failure" && outcome.message).toContain('has no job "missing"');
  });
});
