/**
 * @module Job runs as folded from the log: scheduling, launch, outcome.
 * The task comes from jobScheduleSuccess, the one event that always carries
 * it: later steps of a job run carry it only in logs written before it was
 * recorded once (docs/events.md), so both forms fold the same.
 */
import { create } from "@bufbuild/protobuf";
import {
  ExitCategory,
  JobRunStatus,
  JobRunViewSchema,
  type BuildEvent,
  type JobRunView,
} from "../../gen/databuild_pb.ts";
import type { EventCase } from "../build-event.ts";
import { refill, stateObject, type ReadModel } from "../read-model.ts";

export const JOB_RUN_KINDS: readonly EventCase[] = [
  "jobScheduleSuccess",
  "taskLaunchSuccess",
  "taskLaunchFail",
  "configValidateFail",
  "taskSuccess",
  "taskFailed",
  "jobExecFail",
];

export class JobRuns implements ReadModel {
  readonly name = "job-runs";
  // 2: log_truncation from taskSuccess / taskFailed.
  readonly version = 2;
  readonly kinds = JOB_RUN_KINDS;
  private readonly runs = new Map<string, JobRunView>();

  saveState(): unknown {
    return { runs: this.runs };
  }

  restoreState(state: unknown): void {
    refill(this.name, this.runs, stateObject(this.name, state, ["runs"]).runs);
  }

  apply(event: BuildEvent): void {
    const id = event.jobRunId;
    if (!id) return;
    const payload = event.event;
    if (payload.case === "jobScheduleSuccess") {
      this.runs.set(
        id,
        create(JobRunViewSchema, {
          jobRunId: id,
          buildRequestId: event.buildRequestId,
          task: payload.value.task,
          status: JobRunStatus.JOB_RUN_SCHEDULED,
          attempt: payload.value.attempt,
          scheduledAt: event.timestamp,
        }),
      );
      return;
    }
    const run = this.runs.get(id);
    if (!run) return;
    switch (payload.case) {
      case "taskLaunchSuccess":
        run.status = JobRunStatus.JOB_RUN_RUNNING;
        run.startedAt = event.timestamp;
        run.pid = payload.value.pid;
        run.hostname = payload.value.hostname;
        break;
      case "taskSuccess":
        run.status = JobRunStatus.JOB_RUN_SUCCEEDED;
        run.exitCategory = ExitCategory.EXIT_SUCCESS;
        run.endedAt = event.timestamp;
        run.logTruncation = payload.value.logTruncation;
        break;
      case "taskFailed":
        run.status = JobRunStatus.JOB_RUN_FAILED;
        run.exitCategory = payload.value.category;
        run.exitCode = payload.value.exitCode;
        run.signal = payload.value.signal;
        run.message = payload.value.message;
        run.endedAt = event.timestamp;
        run.logTruncation = payload.value.logTruncation;
        break;
      case "taskLaunchFail":
      case "configValidateFail":
        run.status = JobRunStatus.JOB_RUN_FAILED;
        run.message = payload.value.message;
        run.endedAt = event.timestamp;
        break;
      case "jobExecFail":
        run.status = JobRunStatus.JOB_RUN_FAILED;
        if (run.exitCategory === ExitCategory.EXIT_CATEGORY_UNSPECIFIED) run.exitCategory = payload.value.category;
        run.message ||= payload.value.message;
        run.endedAt ??= event.timestamp;
        break;
    }
  }

  get(id: string): JobRunView | undefined {
    return this.runs.get(id);
  }

  /**
   * Job runs whose id starts or ends with `part`: ids may be abbreviated to a
   * unique prefix (like git hashes) or to the short tail the CLI prints.
   */
  matching(part: string): JobRunView[] {
    const exact = this.runs.get(part);
    if (exact) return [exact];
    return [...this.runs.values()].filter((r) => r.jobRunId.startsWith(part) || r.jobRunId.endsWith(part));
  }

  all(): JobRunView[] {
    return [...this.runs.values()];
  }
}
