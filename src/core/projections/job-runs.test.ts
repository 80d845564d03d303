import { describe, expect, it } from "vitest";
import { eventPayload } from "../build-event.ts";
import { newEvent } from "../new-event.ts";
import { ExitCategory, JobRunStatus } from "../../gen/databuild_pb.ts";
import { FAILED_RUN, OK_RUN, jobRunHistory } from "../../testing/job-run-history.ts";
import { JobRuns } from "./job-runs.ts";

function fold(events: Parameters<JobRuns["apply"]>[0][]): JobRuns {
  const runs = new JobRuns();
  for (const event of events) runs.apply(event);
  return runs;
}

describe("JobRuns", () => {
  it("gives the same views for a lean history and the full form older logs hold", () => {
    const full = fold(jobRunHistory("full"));
    const lean = fold(jobRunHistory("lean"));
    expect(lean.all()).toEqual(full.all());
    expect(lean.get(OK_RUN)).toMatchObject({
      status: JobRunStatus.JOB_RUN_SUCCEEDED,
      task: { job: { label: "clean" }, config: { outputs: [{ str: "clean/1" }], args: ["clean/1", "--verbose"] } },
      pid: 4242,
      hostname: "host",
    });
    expect(lean.get(FAILED_RUN)).toMatchObject({
      status: JobRunStatus.JOB_RUN_FAILED,
      exitCategory: ExitCategory.EXIT_JOB_FAILURE,
      exitCode: 3,
      task: { job: { label: "agg" } },
    });
  });

  it("records a run's log truncation from taskSuccess or taskFailed", () => {
    const scope = (jobRunId: string) => ({ buildRequestId: "b", jobRunId });
    const truncated = { limitBytes: 100n, linesDropped: 7n, bytesDropped: 70n };
    const runs = fold([
      newEvent(scope("r1"), eventPayload("jobScheduleSuccess", { task: { job: { label: "j" } }, attempt: 1 })),
      newEvent(scope("r1"), eventPayload("taskSuccess", { logTruncation: truncated })),
      newEvent(scope("r2"), eventPayload("jobScheduleSuccess", { task: { job: { label: "j" } }, attempt: 1 })),
      newEvent(
        scope("r2"),
        eventPayload("taskFailed", { category: ExitCategory.EXIT_JOB_FAILURE, logTruncation: truncated }),
      ),
      newEvent(scope("r3"), eventPayload("jobScheduleSuccess", { task: { job: { label: "j" } }, attempt: 1 })),
      newEvent(scope("r3"), eventPayload("taskSuccess", {})),
    ]);
    expect(runs.get("r1")?.logTruncation).toMatchObject(truncated);
    expect(runs.get("r2")?.logTruncation).toMatchObject(truncated);
    expect(runs.get("r3")?.logTruncation).toBeUndefined();
  });
});
