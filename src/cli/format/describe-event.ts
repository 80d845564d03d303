/**
 * @module One line of human text per build event (`databuild events`).
 * Exhaustive over the event oneof: a new event kind fails to compile here
 * until it is described.
 *
 * A job run's task is recorded once, in its jobScheduleSuccess; older logs
 * repeat it in later steps. The text is the same for both: steps of a job
 * run after its scheduling do not repeat the task, except jobFailure, which
 * names it from the event or, through an EventDescriber, from the job run's
 * jobScheduleSuccess seen earlier in the stream.
 */
import {
  BuildRequestStatus,
  DelegationReason,
  ExitCategory,
  LogStream,
  PartitionStatus,
  TokenScope,
  TriggerOutcome,
  type BuildEvent,
  type LogEntry,
  type LogTruncation,
  type PartitionRef,
  type Task,
} from "../../gen/databuild_pb.ts";
import { describeTruncation, entryLineCount } from "../../core/log-entries.ts";
import { shortId } from "./short-id.ts";
import { plural } from "../../core/plural.ts";

const SHOWN = 3;

function refs(list: readonly PartitionRef[]): string {
  const shown = list
    .slice(0, SHOWN)
    .map((r) => r.str)
    .join(", ");
  return list.length > SHOWN ? `${shown} (+${list.length - SHOWN} more)` : shown;
}

function task(t: Task | undefined): string {
  return t ? `${t.job?.label ?? "?"} ${refs(t.config?.outputs ?? [])}` : "?";
}

function statusName(status: BuildRequestStatus): string {
  return BuildRequestStatus[status].replace("BUILD_REQUEST_", "").toLowerCase();
}

function logEntry(entry: LogEntry): string {
  const stream = LogStream[entry.stream].toLowerCase();
  if (entry.truncated) return `${stream} #${entry.sequence}: output reached the log limit; the rest is not recorded`;
  const count = entryLineCount(entry);
  if (count === 1) return `${stream} #${entry.sequence}: ${entry.line}${entry.continued ? "…" : ""}`;
  const through = entry.sequence + BigInt(count - 1);
  return `${stream} #${entry.sequence}-#${through} (${count} lines): ${entry.line.slice(0, entry.line.indexOf("\n"))} …`;
}

function truncation(t: LogTruncation | undefined): string {
  return t ? ` (${describeTruncation(t)})` : "";
}

/**
 * Describes a stream of events in log order: remembers each job run's task
 * from its jobScheduleSuccess until the run ends, for the events that no
 * longer carry it.
 */
export class EventDescriber {
  private readonly tasks = new Map<string, Task>();

  describe(event: BuildEvent): string {
    const e = event.event;
    const id = event.jobRunId;
    let task: Task | undefined;
    if (e.case === "jobScheduleSuccess" && id && e.value.task) this.tasks.set(id, e.value.task);
    else if (e.case === "jobFailure" || e.case === "partitionManifest") {
      task = this.tasks.get(id);
      this.tasks.delete(id);
    }
    return describeEvent(event, task);
  }
}

/**
 * A short description of what the event records. `scheduled`: the job run's
 * task as its jobScheduleSuccess recorded it, for a jobFailure without one.
 */
export function describeEvent(event: BuildEvent, scheduled?: Task): string {
  const e = event.event;
  switch (e.case) {
    case "buildRequestReceived":
      return `build requested: ${refs(e.value.requestedPartitions)} by ${e.value.requester}`;
    case "buildRequestStatusChanged":
      return `build request ${statusName(e.value.status)}${e.value.message ? `: ${e.value.message}` : ""}`;
    case "partitionStatusChanged":
      return `${e.value.partitionRef?.str} ${PartitionStatus[e.value.status].replace("PARTITION_", "").toLowerCase()}${e.value.message ? `: ${e.value.message}` : ""}`;
    case "partitionDelegated":
      return `${e.value.partitionRef?.str} delegated to build request ${shortId(e.value.delegateBuildRequestId)} (${DelegationReason[e.value.reason].toLowerCase().replace("_", " ")})`;
    case "partitionsClaimed":
      return `claimed ${plural(e.value.partitions.length, "partition")}: ${refs(e.value.partitions)}`;
    case "partitionsReleased":
      return `released ${plural(e.value.partitions.length, "claim")} (${refs(e.value.partitions)}): ${e.value.reason}`;
    case "buildRequestLost":
      return `declared lost by build request ${shortId(e.value.detectedByBuildRequestId)} (${e.value.reason}): ${plural(e.value.lostJobRunIds.length, "job run")} lost, ${plural(e.value.releasedPartitions.length, "claim")} released`;
    case "partitionsInvalidated":
      return `invalidated ${plural(e.value.partitionsInvalidated, "partition")} (${refs(e.value.requested)}${e.value.downstream ? " and downstream" : ""}) by ${e.value.requester}${e.value.reason ? `: ${e.value.reason}` : ""}`;
    case "partitionDispatchFail":
      return `dispatch failed for ${refs(e.value.partitionRefs)}: ${e.value.message}`;
    case "cycleDetected":
      return `cycle: ${e.value.cycle.map((r) => r.str).join(" -> ")}`;
    case "graphAnalyzeFail":
      return `analysis failed: ${e.value.message}`;
    case "jobGraph":
      return `job graph: ${e.value.jobGraph?.nodes.length ?? 0} tasks for ${refs(e.value.jobGraph?.outputs ?? [])}`;
    case "argValidateFail":
      return `config args of ${e.value.job?.label} invalid: ${e.value.message}`;
    case "argValidateSuccess":
      return `config args of ${e.value.job?.label} valid (${plural(e.value.partitionRefs.length, "ref")})`;
    case "configFail":
      return `config of ${e.value.job?.label} failed: ${e.value.message}`;
    case "configSuccess":
      return `config of ${e.value.job?.label}: ${plural(e.value.configCount, "config")} for ${refs(e.value.partitionRefs)}`;
    case "jobConfigFail":
      return `job config failed: ${e.value.message}`;
    case "configValidateFail":
      return `job config invalid: ${e.value.message}`;
    case "configValidateSuccess":
      // The task is jobScheduleSuccess's (or, for a standalone wrapper run, in the JSON).
      return "job config valid";
    case "taskLaunchFail":
      return `launch failed: ${e.value.message}`;
    case "taskLaunchSuccess":
      return `launched${e.value.pid ? ` (pid ${e.value.pid} on ${e.value.hostname})` : ""}`;
    case "jobHeartbeat":
      return `job heartbeat${e.value.rssBytes ? ` (rss ${Math.round(Number(e.value.rssBytes) / 1048576)} MB)` : ""}`;
    case "logEntry":
      return logEntry(e.value);
    case "taskFailed":
      return `task failed (${ExitCategory[e.value.category]}${e.value.signal ? ` ${e.value.signal}` : ""}${e.value.category === ExitCategory.EXIT_JOB_FAILURE ? ` code ${e.value.exitCode}` : ""}): ${e.value.message}${truncation(e.value.logTruncation)}`;
    case "taskSuccess":
      return `task succeeded${truncation(e.value.logTruncation)}`;
    case "partitionManifest":
      return `manifest: ${refs(e.value.outputs)} available (job ${e.value.task?.job?.label}, version ${e.value.jobVersion})`;
    case "jobExecFail":
      return `job exec failed (${ExitCategory[e.value.category]}): ${e.value.message}`;
    case "remainingJobs":
      return `remaining jobs: ${e.value.ready} ready, ${e.value.running} running, ${e.value.waiting} waiting`;
    case "jobsUnschedulable":
      return `${e.value.tasks.length} tasks unschedulable${e.value.tasks[0] ? `, e.g. ${task(e.value.tasks[0].task)}: ${e.value.tasks[0].reason}` : ""}`;
    case "jobScheduleFail":
      return `could not schedule ${task(e.value.task)}: ${e.value.message}`;
    case "jobScheduleSuccess":
      return `scheduled ${task(e.value.task)}${e.value.attempt > 1 ? ` (attempt ${e.value.attempt})` : ""}`;
    case "jobFailure": {
      const failed = e.value.task ?? scheduled;
      return failed ? `job failed: ${task(failed)}: ${e.value.message}` : `job failed: ${e.value.message}`;
    }
    case "jobCancels":
      return `cancelling ${plural(e.value.jobRunIds.length, "job run")}: ${e.value.reason}`;
    case "buildHeartbeat":
      return `build heartbeat (${e.value.runningJobs} running)`;
    case "graphBuildFail":
      return `graph build failed: ${e.value.message}`;
    case "graphBuildSuccess":
      return `graph build succeeded: ${plural(e.value.partitionsBuilt, "partition")} in ${plural(e.value.jobsRun, "job")}`;
    case "workerStarted": {
      const labels = Object.entries(e.value.labels).map(([k, v]) => `${k}=${v}`);
      return `worker ${shortId(e.value.workerId)} started on ${e.value.hostname} (pid ${e.value.pid}, ${plural(e.value.slots, "slot")}${labels.length > 0 ? `, labels ${labels.join(", ")}` : ""})`;
    }
    case "workerHeartbeat":
      return `worker ${shortId(e.value.workerId)} heartbeat (${e.value.runningJobRunIds.length} running)`;
    case "workerStopped":
      return `worker ${shortId(e.value.workerId)} stopped: ${e.value.reason}`;
    case "workerLost":
      return `worker ${shortId(e.value.workerId)} lost: ${e.value.reason}${e.value.lostJobRunIds.length > 0 ? `; ${plural(e.value.lostJobRunIds.length, "job run")} lost with it` : ""}`;
    case "jobRunOffered":
      return `offered to the worker pool: ${task(e.value.request?.task)}`;
    case "jobRunTaken":
      return `taken by worker ${shortId(e.value.workerId)} on ${e.value.hostname}`;
    case "tokenCreated":
      return `token ${e.value.name} created by ${e.value.createdBy} (${e.value.scopes.map(scopeName).join(", ")})`;
    case "tokenRevoked":
      return `token ${e.value.name} revoked by ${e.value.revokedBy}`;
    case "triggerTick":
      return `trigger ${e.value.trigger} tick ${e.value.tickKey}: ${TriggerOutcome[e.value.outcome]}${e.value.message ? `: ${e.value.message}` : ""}`;
    case "triggerPaused":
      return `trigger ${e.value.trigger} paused by ${e.value.by}`;
    case "triggerResumed":
      return `trigger ${e.value.trigger} resumed by ${e.value.by}`;
    case "buildRequestAdopted":
      return `lost build request ${shortId(e.value.lostBuildRequestId)} continued by ${shortId(e.value.successorBuildRequestId)} (replica ${e.value.adoptedBy})`;
    case "cancelRequested":
      return `cancel requested by ${e.value.requestedBy}${e.value.reason ? `: ${e.value.reason}` : ""}`;
    case undefined:
      return "(empty event)";
    default: {
      const unhandled: never = e;
      return `(unknown event ${(unhandled as { case: string }).case})`;
    }
  }
}

function scopeName(scope: TokenScope): string {
  return (TokenScope[scope] ?? String(scope)).replace(/^TOKEN_SCOPE_/, "").toLowerCase();
}
