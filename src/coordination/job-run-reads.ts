/**
 * @module One job run's view, folded from that run's events alone (the log's
 * job-run index): what explain and status show without folding every job
 * run in the history.
 */
import type { EventLog } from "../core/event-log.ts";
import { JOB_RUN_KINDS, JobRuns } from "../core/projections/job-runs.ts";
import type { JobRunView } from "../gen/databuild_pb.ts";

export async function readJobRun(log: EventLog, jobRunId: string): Promise<JobRunView | undefined> {
  if (!jobRunId) return undefined;
  const runs = new JobRuns();
  for (const { event } of await log.read(0, { jobRunId, kinds: JOB_RUN_KINDS })) runs.apply(event);
  return runs.get(jobRunId);
}
