/**
 * @module Literal constructors for the payloads every job run emits. They
 * build the message objects directly (typed, so a proto change that adds a
 * field fails to compile here) instead of going through protobuf-es's
 * reflective `create`, which dominated the per-job cost of in-process jobs.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type {
  DepType,
  JobRunRequest,
  LogStream,
  LogTruncation,
  ManifestRef,
  PartitionManifest,
  PartitionRef,
  PartitionStatus,
  Task,
} from "../gen/databuild_pb.ts";
import type { EventPayload } from "./build-event.ts";

export function jobScheduleSuccess(task: Task, attempt: number): EventPayload {
  return { case: "jobScheduleSuccess", value: { $typeName: "databuild.v1.JobScheduleSuccess", task, attempt } };
}

export function partitionStatusChanged(
  partitionRef: PartitionRef,
  status: PartitionStatus,
  jobRunId: string,
  message = "",
): EventPayload {
  return {
    case: "partitionStatusChanged",
    value: { $typeName: "databuild.v1.PartitionStatusChanged", partitionRef, status, jobRunId, message },
  };
}

export function configValidateSuccess(task: Task | undefined): EventPayload {
  return { case: "configValidateSuccess", value: { $typeName: "databuild.v1.ConfigValidateSuccess", task } };
}

export function taskLaunchSuccess(task: Task | undefined, pid: number, hostname: string): EventPayload {
  return { case: "taskLaunchSuccess", value: { $typeName: "databuild.v1.TaskLaunchSuccess", task, pid, hostname } };
}

/** Lines of one stream (joined by "\n"), numbered from `sequence`; or (`truncated`) the log limit marker. */
export function logEntry(
  stream: LogStream,
  sequence: bigint,
  line: string,
  continued: boolean,
  truncated?: true,
): EventPayload {
  return {
    case: "logEntry",
    value: { $typeName: "databuild.v1.LogEntry", stream, sequence, line, continued, truncated },
  };
}

export function taskSuccess(startTime: Timestamp, endTime: Timestamp, logTruncation?: LogTruncation): EventPayload {
  return { case: "taskSuccess", value: { $typeName: "databuild.v1.TaskSuccess", startTime, endTime, logTruncation } };
}

/** `task` as a manifest records it: the job, not the config (recorded once per job run elsewhere). */
export function manifestTask(task: Task | undefined): Task | undefined {
  return task && { $typeName: "databuild.v1.Task", job: task.job, config: undefined };
}

/** An input as a manifest records it: built_at is left out (the input's manifest, named by job_run_id, has it). */
function manifestInput(input: ManifestRef): ManifestRef {
  return input.builtAt === undefined
    ? input
    : {
        $typeName: "databuild.v1.ManifestRef",
        partitionRef: input.partitionRef,
        depType: input.depType,
        jobRunId: input.jobRunId,
        builtAt: undefined,
      };
}

/**
 * The manifest of a successful run of `request`: what the partitions' status
 * and staleness need (outputs, inputs with the job runs that built them,
 * times, ids, the job, its version and graph), and no copy of the config.
 */
export function manifestFor(request: JobRunRequest, startTime: Timestamp, endTime: Timestamp): PartitionManifest {
  return {
    $typeName: "databuild.v1.PartitionManifest",
    outputs: request.task?.config?.outputs ?? [],
    inputs: request.inputManifests.map(manifestInput),
    startTime,
    endTime,
    task: manifestTask(request.task),
    buildRequestId: request.buildRequestId,
    jobRunId: request.jobRunId,
    jobVersion: request.jobVersion || "0.0.0",
    graphLabel: request.graphLabel,
  };
}

export function partitionManifest(manifest: PartitionManifest): EventPayload {
  return { case: "partitionManifest", value: manifest };
}

/** One input of a job run, as its JobRunRequest and manifest name it. */
export function manifestRef(
  ref: string,
  depType: DepType,
  jobRunId: string,
  builtAt: Timestamp | undefined,
): ManifestRef {
  return {
    $typeName: "databuild.v1.ManifestRef",
    partitionRef: { $typeName: "databuild.v1.PartitionRef", str: ref },
    depType,
    jobRunId,
    builtAt,
  };
}

/** A JobRunRequest from all of its fields (made once per job run). */
export function jobRunRequest(fields: Omit<JobRunRequest, "$typeName" | "$unknown">): JobRunRequest {
  return { $typeName: "databuild.v1.JobRunRequest", ...fields };
}
