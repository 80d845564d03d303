/**
 * @module Checks that a build's events form valid paths through the seed's
 * state diagrams (job.config, job.exec, graph.analyze, graph.build) and the
 * build request lifecycle. Each diagram's steps are spelled as letters and
 * the diagram as a regular expression over them; a build is valid when every
 * subsequence a diagram owns matches it.
 */
import type { BuildEvent } from "../../gen/databuild_pb.ts";
import type { EventCase } from "../build-event.ts";
import { isFinalBuildRequestStatus } from "../build-request-ended.ts";

/** job.exec, one path per job run. */
const JOB_EXEC: Partial<Record<EventCase, string>> = {
  configValidateFail: "v",
  configValidateSuccess: "V",
  taskLaunchFail: "l",
  taskLaunchSuccess: "L",
  jobHeartbeat: "H",
  logEntry: "G",
  taskFailed: "F",
  taskSuccess: "S",
  partitionManifest: "M",
  jobExecFail: "X",
};
const JOB_EXEC_PATH = /^(?:vX|VlX|VL[HG]*(?:FX|SM))$/;

/** job.config, one path per job label (rounds run one after another). */
const JOB_CONFIG: Partial<Record<EventCase, string>> = {
  argValidateFail: "A",
  argValidateSuccess: "a",
  configSuccess: "c",
  configFail: "C",
  jobConfigFail: "J",
};
const JOB_CONFIG_PATH = /^(?:a(?:c|CJ)|AJ)*$/;

/** graph.analyze followed by graph.build, one path per build request. */
const GRAPH: Partial<Record<EventCase, string>> = {
  partitionDispatchFail: "D",
  cycleDetected: "Y",
  jobConfigFail: "J",
  graphAnalyzeFail: "N",
  jobGraph: "O",
  remainingJobs: "r",
  jobsUnschedulable: "u",
  jobScheduleFail: "e",
  jobScheduleSuccess: "E",
  jobFailure: "f",
  jobCancels: "k",
  buildHeartbeat: "h",
  graphBuildFail: "B",
  graphBuildSuccess: "W",
  buildRequestLost: "Z",
};
// Analysis fails (dispatch, cycle or config), or yields a job graph that is
// then built: scheduling, heartbeats, failures and cancels, ending in success
// or failure (possibly after reporting unschedulable tasks). A takeover
// analyzes again mid-build (another job graph, or an analysis failure). A
// build declared lost ends where it was cut off, with the lost event, its
// lost job runs and a build failure recorded by the build that found it
// (and, if it was only paused, the cancels it sends when it wakes up).
// Heartbeats go on while the configs run, before the first job graph; an
// analysis cancelled (Ctrl-C) fails with the configs it stopped, or none if
// it was between config calls.
const PLANNING = "[hJ]*";
const BUILDING = "h*O(?:[rEefkhO]|(?:J*|D|Y)N)*";
const GRAPH_PATH = new RegExp(`^(?:${PLANNING}[DY]?h*NB|${BUILDING}(?:W|u?B)|(?:${PLANNING}|${BUILDING})Zf*Bk*)$`);

/** Returns every violation found in one build request's events (in log order); empty when valid. */
export function diagramViolations(events: readonly BuildEvent[]): string[] {
  const problems: string[] = [];
  if (events.length === 0) return ["no events"];
  if (events[0]!.event.case !== "buildRequestReceived")
    problems.push(`first event is ${events[0]!.event.case}, not buildRequestReceived`);
  const last = events[events.length - 1]!.event;
  if (last.case !== "buildRequestStatusChanged" || !isFinalBuildRequestStatus(last.value.status)) {
    problems.push(`last event is ${last.case}, not a final build request status`);
  }

  const jobRuns = new Map<string, string>();
  const configs = new Map<string, string>();
  let graph = "";
  for (const event of events) {
    const kind = event.event.case;
    if (!kind) continue;
    const exec = JOB_EXEC[kind];
    if (exec) {
      if (!event.jobRunId) problems.push(`${kind} without a job run id`);
      jobRuns.set(event.jobRunId, (jobRuns.get(event.jobRunId) ?? "") + exec);
    }
    const config = JOB_CONFIG[kind];
    if (config) {
      const label = (event.event.value as { job?: { label: string } }).job?.label ?? "";
      configs.set(label, (configs.get(label) ?? "") + config);
    }
    const step = GRAPH[kind];
    if (step) graph += step;
  }
  for (const [id, path] of jobRuns) {
    if (!JOB_EXEC_PATH.test(path)) problems.push(`job run ${id}: job.exec path ${path} is not valid`);
  }
  for (const [label, path] of configs) {
    if (!JOB_CONFIG_PATH.test(path)) problems.push(`job ${label}: job.config path ${path} is not valid`);
  }
  if (!GRAPH_PATH.test(graph)) problems.push(`graph.analyze/graph.build path ${graph} is not valid`);
  return problems;
}

/** Groups events by build request id, keeping log order. */
export function eventsByBuild(events: readonly BuildEvent[]): Map<string, BuildEvent[]> {
  const byBuild = new Map<string, BuildEvent[]>();
  for (const event of events) {
    // Worker lifecycle events belong to no build request.
    if (event.buildRequestId === "") continue;
    const list = byBuild.get(event.buildRequestId);
    if (list) list.push(event);
    else byBuild.set(event.buildRequestId, [event]);
  }
  return byBuild;
}
