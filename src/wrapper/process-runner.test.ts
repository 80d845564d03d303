import { chmodSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fromJsonString } from "@bufbuild/protobuf";
import { ExitCategory, JobConfigSchema, LogStream, type BuildEvent } from "../gen/databuild_pb.ts";
import { ProcessJobRunner } from "./process-runner.ts";
import { SpawnerClient, type SpawnerMode } from "./spawner/spawner-client.ts";
import {
  SUCCESS_PATH,
  FAILURE_PATH,
  collect,
  dirWith,
  isAlive,
  kinds,
  loggedLines,
  makeRequest,
  only,
  payloads,
  shape,
  startCollecting,
  waitDead,
} from "./fixtures/runs.ts";

function lines(events: readonly BuildEvent[], stream?: LogStream): string[] {
  return loggedLines(events, stream).map((l) => l.line);
}

/** The value printed as "name=value" by a job. */
function printed(events: readonly BuildEvent[], name: string): string | undefined {
  const line = lines(events).find((l) => l.startsWith(`${name}=`));
  return line?.slice(name.length + 1);
}

/** Every test runs on each spawn path: in process, and through each spawner process. */
const MODES: SpawnerMode[] = ["inprocess", "python", "node"];

describe.each(MODES)("spawner %s", (mode) => {
  const runner = new ProcessJobRunner({ spawner: mode });

  it("spawns its jobs from the chosen process", async () => {
    const { events } = await collect(runner, makeRequest(["bash", "-c", "echo ppid=$PPID"]));
    const spawner = runner.spawner;
    if (mode === "inprocess") expect(printed(events, "ppid")).toBe(String(process.pid));
    else {
      expect(spawner).toBeInstanceOf(SpawnerClient);
      expect((spawner as SpawnerClient).ready).toBe(true);
      expect(printed(events, "ppid")).toBe(String((spawner as SpawnerClient).pid));
    }
  });

  describe("ProcessJobRunner: success", () => {
    const inputManifests = [{ partitionRef: { str: "in/p=1" }, jobRunId: "earlier-run" }];

    it("runs a bash job with args, env, stdin and cwd, and emits the success path", async () => {
      const dir = dirWith({
        "job.sh": [
          'echo "args=$#:$1:$2"',
          'echo "label=$DATABUILD_JOB_LABEL"',
          'echo "build=$DATABUILD_BUILD_ID"',
          'echo "run=$DATABUILD_JOB_RUN_ID"',
          'echo "foo=$FOO"',
          'echo "pwd=$PWD"',
          'echo "stdin=$(cat)"',
          "echo warning >&2",
          "printf 'no newline at the end'",
        ].join("\n"),
      });
      const request = makeRequest(["bash", "job.sh"], {
        args: ["first", "with space"],
        env: { FOO: "bar", DATABUILD_JOB_LABEL: "must be overridden" },
        cwd: dir,
        jobVersion: "2.1.0",
        inputManifests,
      });
      request.task!.config!.inputs.push({
        $typeName: "databuild.v1.DataDep",
        depType: 1,
        partitionRef: { $typeName: "databuild.v1.PartitionRef", str: "in/p=1" },
      });
      const { events, outcome } = await collect(runner, request);

      expect(shape(events)).toEqual(SUCCESS_PATH);
      expect(printed(events, "args")).toBe("2:first:with space");
      expect(printed(events, "label")).toBe("test");
      expect(printed(events, "build")).toBe("build-1");
      expect(printed(events, "run")).toBe(request.jobRunId);
      expect(printed(events, "foo")).toBe("bar");
      expect(printed(events, "pwd")).toBe(dir);
      const stdin = fromJsonString(JobConfigSchema, printed(events, "stdin")!);
      expect(stdin).toEqual(request.task!.config);
      expect(lines(events, LogStream.STDERR)).toEqual(["warning"]);
      expect(lines(events).at(-1)).toBe("no newline at the end");
      expect(loggedLines(events).map((l) => l.sequence)).toEqual(loggedLines(events).map((_, i) => i + 1));

      const launch = only(events, "taskLaunchSuccess");
      expect(launch.pid).toBeGreaterThan(0);
      expect(launch.hostname).not.toBe("");
      expect(events.every((e) => e.buildRequestId === "build-1" && e.jobRunId === request.jobRunId)).toBe(true);
      expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);

      const manifest = only(events, "partitionManifest");
      expect(manifest.outputs.map((o) => o.str)).toEqual(["out/p=1"]);
      expect(manifest.inputs.map((i) => [i.partitionRef?.str, i.jobRunId])).toEqual([["in/p=1", "earlier-run"]]);
      // The manifest names the job; the task is recorded once, in the run's first event.
      expect(manifest.task).toEqual({ ...request.task, config: undefined });
      expect(only(events, "configValidateSuccess").task).toEqual(request.task);
      expect(manifest.buildRequestId).toBe("build-1");
      expect(manifest.jobRunId).toBe(request.jobRunId);
      expect(manifest.jobVersion).toBe("2.1.0");
      const start = Number(manifest.startTime!.seconds) * 1000 + manifest.startTime!.nanos / 1e6;
      const end = Number(manifest.endTime!.seconds) * 1000 + manifest.endTime!.nanos / 1e6;
      expect(end).toBeGreaterThanOrEqual(start);
      expect(only(events, "taskSuccess").startTime).toEqual(manifest.startTime);
      expect(outcome).toEqual({ kind: "success", manifest });
    });

    it("gives a python job its JobConfig on stdin and its environment", async () => {
      const dir = dirWith({
        "job.py": [
          "import json, os, sys",
          "config = json.load(sys.stdin)",
          "print('outputs=' + ','.join(o['str'] for o in config['outputs']))",
          "print('env=' + config['env']['MODE'] + ':' + os.environ['MODE'])",
          "print('args=' + ' '.join(sys.argv[1:]))",
          "print('cwd=' + os.getcwd())",
        ].join("\n"),
      });
      const request = makeRequest(["python3", "job.py"], { args: ["x", "y"], env: { MODE: "fast" }, cwd: dir });
      const { events, outcome } = await collect(runner, request);
      expect(outcome.kind).toBe("success");
      expect(printed(events, "outputs")).toBe("out/p=1");
      expect(printed(events, "env")).toBe("fast:fast");
      expect(printed(events, "args")).toBe("x y");
      expect(printed(events, "cwd")).toBe(dir);
      expect(payloads(events, "jobHeartbeat")).toEqual([]);
    });

    it("runs a node job that reads stdin and prints UTF-8", async () => {
      const dir = dirWith({
        "job.mjs": [
          'let text = "";',
          'process.stdin.setEncoding("utf8").on("data", (d) => (text += d)).on("end", () => {',
          "  const config = JSON.parse(text);",
          '  console.log("run=" + process.env.DATABUILD_JOB_RUN_ID);',
          '  console.log("grüße 😀 " + config.outputs[0].str);',
          "});",
        ].join("\n"),
      });
      const request = makeRequest(["node", "job.mjs"], { cwd: dir });
      const { events, outcome } = await collect(runner, request);
      expect(outcome.kind).toBe("success");
      expect(lines(events)).toEqual([`run=${request.jobRunId}`, "grüße 😀 out/p=1"]);
    });

    it("ignores a job that never reads a large JobConfig on stdin (EPIPE)", async () => {
      const request = makeRequest(["true"]);
      const inputs = Array.from({ length: 20_000 }, (_, i) => ({
        $typeName: "databuild.v1.DataDep" as const,
        depType: 0,
        partitionRef: { $typeName: "databuild.v1.PartitionRef" as const, str: `some/long/input/ref=${i}` },
      }));
      request.task!.config!.inputs.push(...inputs);
      const { outcome } = await collect(runner, request);
      expect(outcome.kind).toBe("success");
    });
  });

  describe("ProcessJobRunner: failures", () => {
    it("reports a non-zero exit with its code and the last 20 stderr lines", async () => {
      const script = "import sys\nfor i in range(1, 31): print(f'problem {i}', file=sys.stderr)\nsys.exit(3)";
      const { events, outcome } = await collect(runner, makeRequest(["python3", "-c", script]));
      expect(shape(events)).toEqual(FAILURE_PATH);
      const failed = only(events, "taskFailed");
      expect(failed.category).toBe(ExitCategory.EXIT_JOB_FAILURE);
      expect(failed.exitCode).toBe(3);
      expect(failed.message).toContain("exited with code 3");
      const expected = Array.from({ length: 20 }, (_, i) => `problem ${i + 11}`);
      expect(failed.stderrTail).toEqual(expected);
      expect(only(events, "jobExecFail").category).toBe(ExitCategory.EXIT_JOB_FAILURE);
      expect(outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_JOB_FAILURE, exitCode: 3 });
      expect(outcome.kind === "failure" && outcome.stderrTail).toEqual(expected);
    });

    it.each([
      ["a missing program", ["./no-such-program"], {}, /no such program "\.\/no-such-program" \(ENOENT\)/],
      ["a non-executable file", ["./data.txt"], { "data.txt": "not a program" }, /permission denied.*EACCES/],
    ])("reports %s as a launch failure", async (_name, command, files, pattern) => {
      const dir = dirWith(files);
      chmodSync(dir, 0o755);
      const { events, outcome } = await collect(runner, makeRequest(command, { cwd: dir }));
      expect(kinds(events)).toEqual(["configValidateSuccess", "taskLaunchFail", "jobExecFail"]);
      const message = only(events, "taskLaunchFail").message;
      expect(message).toMatch(pattern);
      expect(message).toContain(dir);
      expect(only(events, "jobExecFail").category).toBe(ExitCategory.EXIT_LAUNCH_FAILURE);
      expect(outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_LAUNCH_FAILURE });
    });

    it("ignores cancel of a run whose command is still failing to start", async () => {
      const { running, outcome, events } = startCollecting(runner, makeRequest(["./no-such-program"]));
      // Before the spawn error arrives there is no pid; a kill(-pid) now would hit the test's own process group.
      running.cancel("early");
      expect(await outcome).toMatchObject({ category: ExitCategory.EXIT_LAUNCH_FAILURE });
      expect(kinds(events)).toEqual(["configValidateSuccess", "taskLaunchFail", "jobExecFail"]);
    });

    it("reports a missing working directory as a launch failure", async () => {
      const { events } = await collect(runner, makeRequest(["true"], { cwd: "/nonexistent/graph-dir" }));
      expect(kinds(events)).toEqual(["configValidateSuccess", "taskLaunchFail", "jobExecFail"]);
      expect(only(events, "taskLaunchFail").message).toContain(
        "/nonexistent/graph-dir: the working directory does not exist",
      );
    });

    it.each([
      ["no outputs", makeRequest(["true"], { task: { job: { label: "x" }, config: {} } }), /no outputs/],
      [
        "a malformed output",
        makeRequest(["true"], { task: { job: { label: "x" }, config: { outputs: [{ str: "a b" }] } } }),
        /whitespace/,
      ],
      ["an empty command", makeRequest([]), /no command/],
      ["no task", makeRequest(["true"], { task: undefined }), /no task/],
    ])("rejects a request with %s before launching", async (_name, request, pattern) => {
      const { events, outcome } = await collect(runner, request);
      expect(kinds(events)).toEqual(["configValidateFail", "jobExecFail"]);
      expect(only(events, "configValidateFail").message).toMatch(pattern);
      expect(outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_CONFIG_INVALID });
    });
  });

  describe("ProcessJobRunner: output", () => {
    it("records every line of a 20 MB flood on both streams exactly once and in order", async () => {
      // Blocks of 100 lines per write keep the job itself fast; the wrapper still sees 20 MB.
      const script = [
        "import sys",
        "pad = 'x' * 90",
        "for b in range(2000):",
        "    sys.stdout.write(''.join(f'{i:08d} {pad}\\n' for i in range(b * 100, b * 100 + 100)))",
        "    sys.stderr.write(f'err {b * 100}\\n')",
      ].join("\n");
      // Checked as the events arrive: keeping 200k events alive would slow the test more than the wrapper.
      const pad = "x".repeat(90);
      let sequence = 0;
      let stdoutLines = 0;
      let stderrLines = 0;
      let continued = 0;
      const problems: string[] = [];
      let entries = 0;
      // 20 MB is over the default log limit (16 MiB).
      const request = makeRequest(["python3", "-c", script], { logLimitBytes: 64n << 20n });
      const run = runner.start(request, (event) => {
        if (event.event.case !== "logEntry") return;
        entries++;
        for (const entry of loggedLines([event])) {
          if (entry.sequence !== ++sequence) problems.push(`sequence ${entry.sequence} at ${sequence}`);
          if (entry.continued) continued++;
          const expected =
            entry.stream === LogStream.STDOUT
              ? `${String(stdoutLines++).padStart(8, "0")} ${pad}`
              : `err ${stderrLines++ * 100}`;
          if (entry.line !== expected) problems.push(`${JSON.stringify(entry.line)} instead of ${expected}`);
        }
      });
      expect((await run.done).kind).toBe("success");
      expect(problems.slice(0, 5)).toEqual([]);
      expect(stdoutLines).toBe(200_000);
      expect(stderrLines).toBe(2000);
      expect(continued).toBe(0);
      // Batched: consecutive lines of one stream share an entry (here a stderr line splits each block).
      expect(entries).toBeLessThanOrEqual(2 * 2000 + 20_000_000 / (64 * 1024));
    }, 20_000);

    it("splits a 1 MB line without newline into continued entries", async () => {
      const { events } = await collect(runner, makeRequest(["bash", "-c", "head -c 1048576 /dev/zero | tr '\\0' y"]));
      const entries = loggedLines(events);
      expect(entries.length).toBe(16);
      expect(entries.map((e) => e.continued)).toEqual([...Array<boolean>(15).fill(true), false]);
      expect(entries.every((e) => e.line.length === 65536 && /^y+$/.test(e.line))).toBe(true);
      // Each piece ends its entry, so `continued` always marks an entry's last line.
      expect(payloads(events, "logEntry").length).toBe(16);
    });

    it("records output up to the run's log limit and counts the rest, keeping the real stderr tail", async () => {
      // 1,000 lines of 10 bytes ("line 0001" and its newline) on stdout, then one on stderr.
      const script = "for i in $(seq -w 1 1000); do echo \"line $i\"; done; echo 'last words' >&2; exit 5";
      const { events, outcome } = await collect(runner, makeRequest(["bash", "-c", script], { logLimitBytes: 1000n }));
      expect(shape(events)).toEqual(FAILURE_PATH);
      const kept = lines(events);
      expect(kept).toHaveLength(100);
      expect(kept.at(-1)).toBe("line 0100");
      const markers = payloads(events, "logEntry").filter((e) => e.truncated);
      expect(markers.map((m) => Number(m.sequence))).toEqual([101]);
      const failed = only(events, "taskFailed");
      expect(failed.logTruncation).toMatchObject({ limitBytes: 1000n, linesDropped: 901n, bytesDropped: 9000n + 11n });
      expect(failed.stderrTail).toEqual(["last words"]);
      expect(outcome).toMatchObject({ kind: "failure", exitCode: 5 });
      const ok = await collect(runner, makeRequest(["bash", "-c", "seq 1 1000"], { logLimitBytes: 100n }));
      expect(only(ok.events, "taskSuccess").logTruncation?.linesDropped).toBeGreaterThan(900n);
    });

    it("turns binary garbage into U+FFFD without failing", async () => {
      const { events, outcome } = await collect(runner, makeRequest(["bash", "-c", "head -c 200000 /dev/urandom"]));
      expect(outcome.kind).toBe("success");
      const text = lines(events).join("\n");
      expect(text).toContain("\uFFFD");
      expect(text.length).toBeGreaterThan(100_000);
    });
  });

  describe("ProcessJobRunner: stopping", () => {
    it("kills a job and its children at the timeout and ends as EXIT_TIMEOUT", async () => {
      const started = Date.now();
      const { events, outcome } = await collect(
        runner,
        makeRequest(["bash", "-c", "sleep 1000 & echo $!; wait"], { timeoutMs: 1000, killGraceMs: 2000 }),
      );
      // Well under timeout + kill grace: SIGTERM ended it.
      expect(Date.now() - started).toBeLessThan(2800);
      expect(shape(events)).toEqual(FAILURE_PATH);
      const failed = only(events, "taskFailed");
      expect(failed.category).toBe(ExitCategory.EXIT_TIMEOUT);
      expect(failed.message).toMatch(/timed out after 1000 ms.*SIGTERM/);
      expect(only(events, "jobExecFail").category).toBe(ExitCategory.EXIT_TIMEOUT);
      expect(outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_TIMEOUT });
      const sleepPid = Number(lines(events)[0]);
      const bashPid = only(events, "taskLaunchSuccess").pid;
      expect(await waitDead(sleepPid)).toBe(true);
      expect(isAlive(bashPid)).toBe(false);
    });

    it("SIGKILLs a job that ignores SIGTERM after the grace period", async () => {
      const script =
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(1000)";
      // Cancelled once it printed "ready", so SIGTERM surely comes after the job started ignoring it.
      let cancelledAt = 0;
      const { events, outcome } = startCollecting(
        runner,
        makeRequest(["python3", "-c", script], { killGraceMs: 200 }),
        undefined,
        (event, running) => {
          if (event.event.case !== "logEntry") return;
          cancelledAt = Date.now();
          running().cancel("test");
        },
      );
      await outcome;
      // Timed from the cancel, not from the start: python's own start-up is slow on a loaded machine.
      expect(cancelledAt).toBeGreaterThan(0);
      expect(Date.now() - cancelledAt).toBeLessThan(2000);
      const failed = only(events, "taskFailed");
      expect(failed.category).toBe(ExitCategory.EXIT_CANCELLED);
      expect(failed.signal).toBe("SIGKILL");
      expect(failed.message).toContain("did not stop within 200 ms of SIGTERM and was killed with SIGKILL");
      expect(lines(events)).toEqual(["ready"]);
    });

    it("cancels a running job as EXIT_CANCELLED", async () => {
      const { events, outcome } = startCollecting(
        runner,
        makeRequest(["node", "-e", "console.log('ready'); setInterval(() => {}, 1000)"]),
        undefined,
        (event, running) => {
          if (event.event.case === "logEntry") running().cancel("another job failed");
        },
      );
      expect(await outcome).toMatchObject({
        kind: "failure",
        category: ExitCategory.EXIT_CANCELLED,
        signal: "SIGTERM",
      });
      const failed = only(events, "taskFailed");
      expect(failed.category).toBe(ExitCategory.EXIT_CANCELLED);
      expect(failed.message).toContain("another job failed");
      expect(only(events, "jobExecFail").category).toBe(ExitCategory.EXIT_CANCELLED);
      expect(await waitDead(only(events, "taskLaunchSuccess").pid)).toBe(true);
    });

    it("reports a job killed by a signal databuild did not send as EXIT_SIGNAL", async () => {
      const { events, outcome } = await collect(runner, makeRequest(["bash", "-c", "echo bye; kill -KILL $$"]));
      const failed = only(events, "taskFailed");
      expect(failed.category).toBe(ExitCategory.EXIT_SIGNAL);
      expect(failed.signal).toBe("SIGKILL");
      expect(failed.message).toMatch(/killed by signal SIGKILL.*out-of-memory/);
      expect(outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_SIGNAL, signal: "SIGKILL" });
      expect(lines(events)).toEqual(["bye"]);
    });

    it("reports a job killed from outside with SIGTERM as EXIT_SIGNAL", async () => {
      const { events, outcome } = startCollecting(
        runner,
        makeRequest(["python3", "-c", "import time\nprint('ready', flush=True)\ntime.sleep(1000)"]),
        undefined,
        (event) => {
          if (event.event.case === "logEntry") process.kill(only(events, "taskLaunchSuccess").pid, "SIGTERM");
        },
      );
      expect(await outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_SIGNAL, signal: "SIGTERM" });
      expect(only(events, "taskFailed").message).not.toContain("out-of-memory");
    });

    it("ends a job whose background process keeps its stdout open, and kills that process", async () => {
      const started = Date.now();
      const { events, outcome } = await collect(
        new ProcessJobRunner({ drainMs: 200, spawner: mode }),
        makeRequest(["bash", "-c", "sleep 1000 & echo $!"]),
      );
      expect(outcome.kind).toBe("success");
      // Far below the 1000 s the background process would keep stdout open; generous for a loaded machine.
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await waitDead(Number(lines(events)[0]))).toBe(true);
    });

    it("cancels a job at once, even before its launch is confirmed", async () => {
      const { running, events, outcome } = startCollecting(runner, makeRequest(["bash", "-c", "sleep 1000"]));
      running.cancel("at once");
      expect(await outcome).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_CANCELLED });
      expect(await waitDead(only(events, "taskLaunchSuccess").pid)).toBe(true);
    });

    it("ignores cancel after the job has ended", async () => {
      const { running, outcome } = startCollecting(runner, makeRequest(["true"]));
      expect((await outcome).kind).toBe("success");
      running.cancel("too late");
    });
  });

  describe("ProcessJobRunner: heartbeats", () => {
    it("emits heartbeats at the configured interval with the memory of the job and its children", async () => {
      // bash stays the job process (the trailing `true` keeps it from exec'ing python); python holds 64 MiB.
      const python = "import time; x = b'x' * (64 << 20); print('allocated', flush=True); time.sleep(0.5)";
      const started = Date.now();
      const { events } = await collect(
        runner,
        makeRequest(["bash", "-c", `python3 -c "${python}"; true`], { heartbeatIntervalMs: 100 }),
      );
      const elapsed = Date.now() - started;
      const beats = payloads(events, "jobHeartbeat");
      expect(beats.length).toBeGreaterThanOrEqual(4);
      expect(beats.length).toBeLessThanOrEqual(Math.ceil(elapsed / 100));
      // The last beat may find the job already a zombie, which has no memory left to report.
      expect(beats.slice(0, -1).every((b) => b.rssBytes > 0n)).toBe(true);
      expect(beats.some((b) => b.rssBytes > 64n << 20n)).toBe(true);
      expect(kinds(events).slice(0, 2)).toEqual(["configValidateSuccess", "taskLaunchSuccess"]);
      expect(kinds(events).slice(-2)).toEqual(["taskSuccess", "partitionManifest"]);
    });
  });
});
