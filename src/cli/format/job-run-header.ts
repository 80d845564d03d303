/** @module The line `databuild logs` prints on stderr before a job run's output (local and --server alike). */
import { ExitCategory, JobRunStatus, type JobRunView } from "../../gen/databuild_pb.ts";

export function jobRunHeader(run: JobRunView): string {
  const outcome =
    run.status === JobRunStatus.JOB_RUN_FAILED
      ? ` failed (${ExitCategory[run.exitCategory]})`
      : ` ${JobRunStatus[run.status].replace("JOB_RUN_", "").toLowerCase()}`;
  return `job run ${run.jobRunId}: ${run.task?.job?.label} ${run.task?.config?.outputs.map((o) => o.str).join(", ")},${outcome}\n`;
}
