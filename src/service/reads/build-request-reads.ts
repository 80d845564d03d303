/**
 * @module GetBuildRequest, ListBuildRequests, ListJobRuns and GetJobRun, from
 * the live log's build requests and job runs (what `databuild builds` and
 * `databuild logs` read).
 */
import { create } from "@bufbuild/protobuf";
import {
  BuildRequestStatus,
  ListBuildRequestsResponseSchema,
  ListJobRunsResponseSchema,
  type BuildRequestView,
  type GetBuildRequestRequest,
  type GetJobRunRequest,
  type JobRunView,
  type ListBuildRequestsRequest,
  type ListBuildRequestsResponse,
  type ListJobRunsRequest,
  type ListJobRunsResponse,
} from "../../gen/databuild_pb.ts";
import type { EventLog } from "../../core/event-log.ts";
import type { LiveLog } from "./live-log.ts";
import { decodeToken, encodeToken, invalidArgument, onlyMatch, pageSize } from "./rpc-errors.ts";

/** The build request `part` names (full id, unique prefix or the short id the CLI prints). */
export function resolveBuildRequest(live: LiveLog, part: string, field = "build_request_id"): BuildRequestView {
  return onlyMatch(live.builds.matching(part), (b) => b.buildRequestId, "build request", field, part);
}

export function resolveJobRun(live: LiveLog, part: string, field = "job_run_id"): JobRunView {
  return onlyMatch(live.jobRuns.matching(part), (r) => r.jobRunId, "job run", field, part);
}

export function getBuildRequest(live: LiveLog, request: GetBuildRequestRequest): BuildRequestView {
  return resolveBuildRequest(live, request.buildRequestId);
}

/** Newest first; the page token is the position (oldest first) the next page starts below. */
export function listBuildRequests(live: LiveLog, request: ListBuildRequestsRequest): ListBuildRequestsResponse {
  const size = pageSize(request.pageSize, 100, 1_000);
  for (const status of request.statuses)
    if (BuildRequestStatus[status] === undefined)
      throw invalidArgument(`statuses: unknown build request status ${status}`);
  const statuses = new Set(request.statuses);
  // Build requests are kept in the order they were received, and never removed: positions are stable.
  const all = live.builds.all();
  let below = all.length;
  if (request.pageToken) {
    const text = decodeToken(request.pageToken);
    below = Number(text);
    if (!/^\d+$/.test(text) || below > all.length)
      throw invalidArgument(`page_token ${JSON.stringify(request.pageToken)} is not one this service gave`);
  }
  const page: BuildRequestView[] = [];
  let i = below - 1;
  for (; i >= 0 && page.length < size; i--) {
    const view = all[i]!;
    if (statuses.size === 0 || statuses.has(view.status)) page.push(view);
  }
  const more = i >= 0 && all.slice(0, i + 1).some((v) => statuses.size === 0 || statuses.has(v.status));
  return create(ListBuildRequestsResponseSchema, {
    buildRequests: page,
    nextPageToken: more ? encodeToken(String(i + 1)) : "",
  });
}

/** The job runs of one build request: its scheduling events name them (read through the log's index). */
export async function listJobRuns(
  log: EventLog,
  live: LiveLog,
  request: ListJobRunsRequest,
): Promise<ListJobRunsResponse> {
  const build = resolveBuildRequest(live, request.buildRequestId);
  const scheduled = await log.read(0, { buildRequestId: build.buildRequestId, kinds: ["jobScheduleSuccess"] });
  const runs: JobRunView[] = [];
  const seen = new Set<string>();
  for (const { event } of scheduled) {
    const run = live.jobRuns.get(event.jobRunId);
    if (run && !seen.has(run.jobRunId)) {
      seen.add(run.jobRunId);
      runs.push(run);
    }
  }
  return create(ListJobRunsResponseSchema, { jobRuns: runs });
}

export function getJobRun(live: LiveLog, request: GetJobRunRequest): JobRunView {
  return resolveJobRun(live, request.jobRunId);
}
