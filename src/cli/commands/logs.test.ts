// `databuild logs` reads both forms of job output: one LogEntry per line
// (logs written before the wrapper batched output) and batches; it prints
// the same for both, and says when a run's output passed its log limit.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventPayload as payload } from "../../core/build-event.ts";
import { LogStream, type BuildEvent } from "../../gen/databuild_pb.ts";
import { openSqliteEventLog } from "../../event-log/index.ts";
import { manifestJob, manifestProject } from "../../testing/manifest-project.ts";
import { FAILED_RUN, OK_RUN, OK_RUN_OUTPUT, jobRunHistory } from "../../testing/job-run-history.ts";
import { runDatabuild, tempDir } from "../../testing/run-cli.ts";
import { runCliCaptured as cli } from "../run-cli-captured.ts";

async function logWith(events: readonly BuildEvent[]): Promise<string> {
  const path = join(tempDir(), "databuild.db");
  const log = await openSqliteEventLog(path);
  await log.append(events);
  await log.close();
  return path;
}

describe("databuild logs", () => {
  it("prints the same for batched entries as for the one-line entries of older logs", async () => {
    const full = await logWith(jobRunHistory("full"));
    const lean = await logWith(jobRunHistory("lean"));
    for (const args of [[OK_RUN], [OK_RUN, "--stream", "stdout"], [OK_RUN, "--stream", "stderr"], [FAILED_RUN]]) {
      const before = await cli(["--db", full, "logs", ...args]);
      const now = await cli(["--db", lean, "logs", ...args]);
      expect(before.code).toBe(0);
      expect(now).toEqual(before);
    }
    const ok = await cli(["--db", lean, "logs", OK_RUN.slice(-8)]);
    expect(ok.stdout).toBe(OK_RUN_OUTPUT);
    expect(ok.stderr).toBe(`job run ${OK_RUN}: clean clean/1, succeeded\n`);
    expect((await cli(["--db", lean, "logs", OK_RUN, "--stream", "stderr"])).stdout).toBe("slow input\n");
    expect((await cli(["--db", lean, "logs", FAILED_RUN])).stdout).toBe("boom\ndisk full\n");
  });

  it("says how much output a run printed past its log limit", async () => {
    const history = jobRunHistory("lean");
    // OK_RUN reached its limit after "done": a marker entry, and the count in taskSuccess.
    const marker = history.findIndex((e) => e.event.case === "jobHeartbeat");
    const stamp = history[marker]!;
    history.splice(marker, 0, {
      ...stamp,
      eventId: "01a23000-0000-7000-9000-0000000000ff",
      event: payload("logEntry", { stream: LogStream.STDOUT, sequence: 7n, truncated: true }),
    });
    const success = history.findIndex((e) => e.event.case === "taskSuccess" && e.jobRunId === OK_RUN);
    const truncation = { limitBytes: 64n, linesDropped: 1234n, bytesDropped: 5_400_000n };
    history[success] = { ...history[success]!, event: payload("taskSuccess", { logTruncation: truncation }) };
    const path = await logWith(history);
    const result = await cli(["--db", path, "logs", OK_RUN]);
    expect(result.stdout).toBe(OK_RUN_OUTPUT);
    expect(result.stderr).toBe(
      `job run ${OK_RUN}: clean clean/1, succeeded\n` +
        `job run ${OK_RUN}: output truncated: 1,234 lines (5.1 MiB) over the log limit of 64 B were not recorded\n`,
    );
    // A run still going that reached its limit: the marker says so before the count exists.
    const live = await cli(["--db", await logWith(history.slice(0, marker + 1)), "logs", OK_RUN]);
    expect(live.stdout).toBe(OK_RUN_OUTPUT);
    expect(live.stderr).toContain(
      `job run ${OK_RUN}: output truncated: it reached the log limit; what it prints from there is not recorded`,
    );
  });

  it("caps a job's output at --log-limit or its job's log_limit_bytes, and shows the truncation", async () => {
    const print = ["python3", "-c", "for i in range(1000): print(f'line {i:04d}')"];
    const dir = manifestProject({
      "databuild.yaml":
        `name: chatty\njobs:\n${manifestJob("chatty", "chatty/{x}", print)}` +
        manifestJob("terse", "terse/{x}", print, "", "    log_limit_bytes: 100\n"),
    });
    const built = await runDatabuild(["build", "--log-limit", "1KiB", "chatty/1", "terse/1"], { cwd: dir });
    expect(built.code).toBe(0);
    const runOf = async (ref: string) =>
      JSON.parse((await runDatabuild(["status", "--json", ref], { cwd: dir })).stdout).jobRunId as string;
    const chatty = await runDatabuild(["logs", await runOf("chatty/1")], { cwd: dir });
    // 10 bytes a line: the first 102 lines fit in 1 KiB.
    expect(chatty.stdout.split("\n").filter(Boolean)).toHaveLength(102);
    expect(chatty.stderr).toContain(
      "output truncated: 898 lines (8.8 KiB) over the log limit of 1 KiB were not recorded",
    );
    const terse = await runDatabuild(["logs", await runOf("terse/1")], { cwd: dir });
    expect(terse.stdout).toBe(Array.from({ length: 10 }, (_, i) => `line ${String(i).padStart(4, "0")}\n`).join(""));
    expect(terse.stderr).toContain("990 lines");
    const events = await runDatabuild(["events"], { cwd: dir });
    expect(events.stdout).toContain("output reached the log limit");
  }, 30_000);
});
