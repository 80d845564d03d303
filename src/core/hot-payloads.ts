/**
 * @module Literal constructors for the payloads every job run emits. They
 * build the message objects directly (typed, so a proto change that adds a
 * field fails to compile here) instead of going through protobuf-es's
 * reflective `create`, which dominated the per-job cost of in-process jobs.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type {
  JobRunRequest,
  LogStream,
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

export function logEntry(stream: LogStream, sequence: bigint, line: string, continued: boolean): EventPayload {
  return { case: "logEntry", value: { $typeName: "databuild.v1.LogEntry", stream, sequence, line, continued } };
}

export function taskSuccess(startTime: Timestamp, endTime: Timestamp): EventPayload {
  return { case: "taskSuccess", value: { $typeName: "databuild.v1.TaskSuccess", startTime, endTime } };
}

/** The manifest of a successful run of `request`. */
export function manifestFor(request: JobRunRequest, startTime: Timestamp, endTime: Timestamp): PartitionManifest {
  return {
    $typeName: "databuild.v1.PartitionManifest",
    outputs: request.task?.config?.outputs ?? [],
    inputs: request.inputManifests as ManifestRef[],
    startTime,
    endTime,
    task: request.task,
    buildRequestId: request.buildRequestId,
    jobRunId: request.jobRunId,
    jobVersion: request.jobVersion || "0.0.0",
    graphLabel: request.graphLabel,
  };
}

export function partitionManifest(manifest: PartitionManifest): EventPayload {
  return { case: "partitionManifest", value: manifest };
}
