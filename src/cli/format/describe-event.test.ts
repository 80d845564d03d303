import { describe, expect, it } from "vitest";
import { eventPayload as payload } from "../../core/build-event.ts";
import { newEvent } from "../../core/new-event.ts";
import { LogStream } from "../../gen/databuild_pb.ts";
import { FAILED_RUN, jobRunHistory } from "../../testing/job-run-history.ts";
import { EventDescriber, describeEvent } from "./describe-event.ts";

/** Each event's text, through one describer, with the log entries left out (they are batched in one form). */
function texts(form: "full" | "lean"): string[] {
  const describer = new EventDescriber();
  return jobRunHistory(form)
    .map((event) => [event.event.case, describer.describe(event)] as const)
    .filter(([kind]) => kind !== "logEntry")
    .map(([, text]) => text);
}

describe("describeEvent", () => {
  it("counts partitions and jobs in the singular and the plural", () => {
    const one = newEvent({ buildRequestId: "b" }, payload("graphBuildSuccess", { partitionsBuilt: 1, jobsRun: 1 }));
    expect(describeEvent(one)).toBe("graph build succeeded: 1 partition in 1 job");
    const many = newEvent({ buildRequestId: "b" }, payload("graphBuildSuccess", { partitionsBuilt: 3, jobsRun: 2 }));
    expect(describeEvent(many)).toBe("graph build succeeded: 3 partitions in 2 jobs");
  });

  it("describes a lean history exactly as the full form older logs hold", () => {
    const lean = texts("lean");
    expect(lean).toEqual(texts("full"));
    expect(lean).toContain("job config valid");
    expect(lean).toContain("launched (pid 4242 on host)");
    expect(lean).toContain("manifest: clean/1 available (job clean, version 1.0.0)");
    // jobFailure no longer carries the task: the describer has it from jobScheduleSuccess.
    expect(lean).toContain('job failed: agg agg/1: job "agg" (command "agg.sh") exited with code 3');
    const alone = jobRunHistory("lean").find((e) => e.event.case === "jobFailure" && e.jobRunId === FAILED_RUN)!;
    expect(describeEvent(alone)).toBe('job failed: job "agg" (command "agg.sh") exited with code 3');
  });

  it("describes batched log entries, the log limit marker and the truncation count", () => {
    const at = (p: Parameters<typeof describeEvent>[0]["event"]) => describeEvent(newEvent({ buildRequestId: "b" }, p));
    expect(at(payload("logEntry", { stream: LogStream.STDOUT, sequence: 5n, line: "one" }))).toBe("stdout #5: one");
    expect(at(payload("logEntry", { stream: LogStream.STDERR, sequence: 5n, line: "a\nb\nc" }))).toBe(
      "stderr #5-#7 (3 lines): a …",
    );
    expect(at(payload("logEntry", { stream: LogStream.STDOUT, sequence: 9n, line: "", truncated: true }))).toBe(
      "stdout #9: output reached the log limit; the rest is not recorded",
    );
    const truncation = { limitBytes: 16n << 20n, linesDropped: 12_345n, bytesDropped: 5n << 20n };
    expect(at(payload("taskSuccess", { logTruncation: truncation }))).toBe(
      "task succeeded (12,345 lines (5 MiB) over the log limit of 16 MiB were not recorded)",
    );
  });
});
