/**
 * @module Test support: one build's history in the two forms the log holds.
 * "full" is how logs written before the task was recorded once look (the
 * task repeated in every step and in the manifest, with the config; one
 * LogEntry per line); "lean" is how the recorder writes them now (the task
 * in jobScheduleSuccess only, the manifest naming the job, lines batched).
 * Same ids and times, so every reader must give the same answers for both.
 */
import { eventPayload as payload, type EventPayload } from "../core/build-event.ts";
import {
  BuildRequestStatus,
  DepType,
  ExitCategory,
  LogStream,
  PartitionStatus,
  type BuildEvent,
  type Task,
} from "../gen/databuild_pb.ts";
import { timestampAtMs } from "../core/timestamp.ts";

export type HistoryForm = "full" | "lean";

export const HISTORY_BUILD = "01a23000-0000-7000-8000-00000000b001";
/** A run that succeeds, printing on both streams (a long line in two pieces). */
export const OK_RUN = "01a23000-0000-7000-8000-0000000a0001";
/** A run that fails for good (jobFailure). */
export const FAILED_RUN = "01a23000-0000-7000-8000-0000000a0002";
/** What OK_RUN printed, as `databuild logs` shows it. */
export const OK_RUN_OUTPUT = "making clean/1\nreading raw/1\nslow input\nxxxxyyyy\ndone\n";

const T0 = Date.parse("2026-11-21T20:28:45.000Z");

const ref = (str: string) => ({ str });

function task(label: string, out: string, input: string): Task {
  return {
    $typeName: "databuild.v1.Task",
    job: { $typeName: "databuild.v1.JobLabel", label },
    config: {
      $typeName: "databuild.v1.JobConfig",
      outputs: [{ $typeName: "databuild.v1.PartitionRef", str: out }],
      inputs: [
        {
          $typeName: "databuild.v1.DataDep",
          depType: DepType.MATERIALIZE,
          partitionRef: { $typeName: "databuild.v1.PartitionRef", str: input },
        },
      ],
      args: [out, "--verbose"],
      env: { MODE: "full" },
    },
  };
}

const CLEAN = task("clean", "clean/1", "raw/1");
const AGG = task("agg", "agg/1", "clean/1");

/** The build's events in `form`, in log order. */
export function jobRunHistory(form: HistoryForm): BuildEvent[] {
  const full = form === "full";
  const events: BuildEvent[] = [];
  let ms = T0;
  const add = (p: EventPayload, jobRunId = "", atMs = (ms += 10)) =>
    events.push({
      $typeName: "databuild.v1.BuildEvent",
      eventId: `01a23000-0000-7000-9000-${String(events.length + 1).padStart(12, "0")}`,
      timestamp: timestampAtMs(atMs),
      buildRequestId: HISTORY_BUILD,
      jobRunId,
      event: p,
    });
  const status = (out: string, s: PartitionStatus, run: string, message = "") =>
    add(payload("partitionStatusChanged", { partitionRef: ref(out), status: s, jobRunId: run, message }), run);
  const log = (run: string, stream: LogStream, sequence: number, line: string, continued = false, atMs = ms) =>
    add(payload("logEntry", { stream, sequence: BigInt(sequence), line, continued }), run, atMs);
  const step = (t: Task) => (full ? t : undefined);

  add(
    payload("buildRequestReceived", {
      requestedPartitions: [ref("agg/1")],
      graphLabel: "g",
      requester: "ann@host pid 1",
      options: { parallel: 1, heartbeatIntervalMs: 5000, heartbeatTimeoutMs: 30000 },
      hostname: "host",
      pid: 1,
    }),
  );
  add(payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_PLANNING }));
  add(payload("jobGraph", { jobGraph: { label: "g", outputs: [ref("agg/1")], nodes: [CLEAN, AGG] } }));
  add(payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_EXECUTING }));
  add(payload("remainingJobs", { ready: 1, running: 0, waiting: 1 }));

  // OK_RUN: clean/1.
  add(payload("jobScheduleSuccess", { task: CLEAN, attempt: 1 }), OK_RUN);
  status("clean/1", PartitionStatus.PARTITION_SCHEDULED, OK_RUN);
  add(payload("configValidateSuccess", { task: step(CLEAN) }), OK_RUN);
  add(payload("taskLaunchSuccess", { task: step(CLEAN), pid: 4242, hostname: "host" }), OK_RUN);
  status("clean/1", PartitionStatus.PARTITION_BUILDING, OK_RUN);
  const startMs = ms;
  ms += 10;
  if (full) {
    log(OK_RUN, LogStream.STDOUT, 1, "making clean/1");
    log(OK_RUN, LogStream.STDOUT, 2, "reading raw/1");
    log(OK_RUN, LogStream.STDERR, 3, "slow input");
    log(OK_RUN, LogStream.STDOUT, 4, "xxxx", true);
    log(OK_RUN, LogStream.STDOUT, 5, "yyyy");
    log(OK_RUN, LogStream.STDOUT, 6, "done");
  } else {
    log(OK_RUN, LogStream.STDOUT, 1, "making clean/1\nreading raw/1");
    log(OK_RUN, LogStream.STDERR, 3, "slow input");
    log(OK_RUN, LogStream.STDOUT, 4, "xxxx", true);
    log(OK_RUN, LogStream.STDOUT, 5, "yyyy\ndone");
  }
  add(payload("jobHeartbeat", { rssBytes: 1n << 20n }), OK_RUN);
  const endMs = ms + 10;
  add(payload("taskSuccess", { startTime: timestampAtMs(startMs), endTime: timestampAtMs(endMs) }), OK_RUN);
  add(
    payload("partitionManifest", {
      outputs: [ref("clean/1")],
      inputs: [
        {
          partitionRef: ref("raw/1"),
          depType: DepType.MATERIALIZE,
          jobRunId: "01a22000-0000-7000-8000-0000000a0000",
          builtAt: full ? timestampAtMs(T0 - 60_000) : undefined,
        },
      ],
      startTime: timestampAtMs(startMs),
      endTime: timestampAtMs(endMs),
      task: full ? CLEAN : { job: CLEAN.job },
      buildRequestId: HISTORY_BUILD,
      jobRunId: OK_RUN,
      jobVersion: "1.0.0",
      graphLabel: "g",
    }),
    OK_RUN,
  );
  status("clean/1", PartitionStatus.PARTITION_AVAILABLE, OK_RUN);

  // FAILED_RUN: agg/1.
  add(payload("remainingJobs", { ready: 1, running: 0, waiting: 0 }));
  add(payload("jobScheduleSuccess", { task: AGG, attempt: 1 }), FAILED_RUN);
  status("agg/1", PartitionStatus.PARTITION_SCHEDULED, FAILED_RUN);
  add(payload("configValidateSuccess", { task: step(AGG) }), FAILED_RUN);
  add(payload("taskLaunchSuccess", { task: step(AGG), pid: 4243, hostname: "host" }), FAILED_RUN);
  status("agg/1", PartitionStatus.PARTITION_BUILDING, FAILED_RUN);
  ms += 10;
  if (full) {
    log(FAILED_RUN, LogStream.STDERR, 1, "boom");
    log(FAILED_RUN, LogStream.STDERR, 2, "disk full");
  } else {
    log(FAILED_RUN, LogStream.STDERR, 1, "boom\ndisk full");
  }
  const message = 'job "agg" (command "agg.sh") exited with code 3';
  add(
    payload("taskFailed", {
      category: ExitCategory.EXIT_JOB_FAILURE,
      exitCode: 3,
      message,
      stderrTail: ["boom", "disk full"],
    }),
    FAILED_RUN,
  );
  add(payload("jobExecFail", { category: ExitCategory.EXIT_JOB_FAILURE, message }), FAILED_RUN);
  add(
    payload("jobFailure", { task: full ? AGG : undefined, category: ExitCategory.EXIT_JOB_FAILURE, message }),
    FAILED_RUN,
  );
  status("agg/1", PartitionStatus.PARTITION_FAILED, FAILED_RUN, message);
  add(payload("graphBuildFail", { message: '1 job failed: "agg" (agg/1)', failedPartitions: [ref("agg/1")] }));
  add(payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_FAILED }));
  return events;
}
