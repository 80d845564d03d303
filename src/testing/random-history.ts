/**
 * @module Test support: random build event histories (fast-check) over a
 * small vocabulary of build requests, partitions and job runs, so that
 * events collide the way real ones do (a partition claimed, built, failed,
 * invalidated; a build request lost while it holds claims). Not
 * necessarily valid diagram paths: read models must fold any history.
 */
import fc from "fast-check";
import { eventPayload, type EventPayload } from "../core/build-event.ts";
import { newEvent } from "../core/new-event.ts";
import {
  BuildRequestStatus,
  DelegationReason,
  DepType,
  ExitCategory,
  PartitionStatus,
  type BuildEvent,
} from "../gen/databuild_pb.ts";

const BUILDS = ["b1", "b2", "b3"];
const REFS = ["raw/1", "raw/2", "clean/1", "clean/2"];
const RUNS = ["r1", "r2", "r3", "r4"];

const ref = (str: string) => ({ str });
const task = (out: string) => ({
  job: { label: out.split("/")[0]! },
  config: { outputs: [ref(out)], inputs: [{ depType: DepType.MATERIALIZE, partitionRef: ref("raw/1") }] },
});

const payload: fc.Arbitrary<EventPayload> = fc.oneof(
  fc.record({ out: fc.constantFrom(...REFS), by: fc.constantFrom(...BUILDS) }).map(({ by }) =>
    eventPayload("buildRequestReceived", {
      requestedPartitions: [ref("clean/1")],
      graphLabel: "g",
      requester: by,
      options: { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 5000 },
      hostname: "elsewhere",
      pid: 42,
    }),
  ),
  fc
    .constantFrom(
      BuildRequestStatus.BUILD_REQUEST_PLANNING,
      BuildRequestStatus.BUILD_REQUEST_EXECUTING,
      BuildRequestStatus.BUILD_REQUEST_COMPLETED,
      BuildRequestStatus.BUILD_REQUEST_FAILED,
      BuildRequestStatus.BUILD_REQUEST_CANCELLED,
    )
    .map((status) => eventPayload("buildRequestStatusChanged", { status, message: "m" })),
  fc
    .constantFrom(...BUILDS)
    .map((by) =>
      eventPayload("buildRequestLost", { detectedByBuildRequestId: by, reason: "gone", lostJobRunIds: ["r1"] }),
    ),
  fc.nat(3).map((runningJobs) => eventPayload("buildHeartbeat", { runningJobs })),
  fc.subarray(REFS, { minLength: 1 }).map((refs) => eventPayload("partitionsClaimed", { partitions: refs.map(ref) })),
  fc
    .subarray(REFS, { minLength: 1 })
    .map((refs) => eventPayload("partitionsReleased", { partitions: refs.map(ref), reason: "cancelled" })),
  fc
    .record({ out: fc.constantFrom(...REFS), run: fc.constantFrom(...RUNS), input: fc.constantFrom(...RUNS) })
    .map(({ out, run, input }) =>
      eventPayload("partitionManifest", {
        outputs: [ref(out)],
        inputs: [{ partitionRef: ref("raw/1"), depType: DepType.MATERIALIZE, jobRunId: input }],
        task: task(out),
        jobRunId: run,
        jobVersion: "1.0.0",
        graphLabel: "g",
      }),
    ),
  fc
    .record({
      out: fc.constantFrom(...REFS),
      run: fc.constantFrom("", ...RUNS),
      status: fc.constantFrom(
        PartitionStatus.PARTITION_REQUESTED,
        PartitionStatus.PARTITION_SCHEDULED,
        PartitionStatus.PARTITION_BUILDING,
        PartitionStatus.PARTITION_AVAILABLE,
        PartitionStatus.PARTITION_FAILED,
        PartitionStatus.PARTITION_DELEGATED,
        PartitionStatus.PARTITION_INVALIDATED,
      ),
    })
    .map(({ out, run, status }) =>
      eventPayload("partitionStatusChanged", { partitionRef: ref(out), status, jobRunId: run, message: "x" }),
    ),
  fc.record({ out: fc.constantFrom(...REFS), to: fc.constantFrom(...BUILDS) }).map(({ out, to }) =>
    eventPayload("partitionDelegated", {
      partitionRef: ref(out),
      delegateBuildRequestId: to,
      reason: DelegationReason.IN_PROGRESS,
    }),
  ),
  fc
    .record({ out: fc.constantFrom(...REFS), attempt: fc.nat(3) })
    .map(({ out, attempt }) => eventPayload("jobScheduleSuccess", { task: task(out), attempt })),
  fc.nat(100_000).map((pid) => eventPayload("taskLaunchSuccess", { pid, hostname: "elsewhere" })),
  fc.constant(eventPayload("taskSuccess", {})),
  fc
    .constantFrom(ExitCategory.EXIT_JOB_FAILURE, ExitCategory.EXIT_LOST, ExitCategory.EXIT_CANCELLED)
    .chain((category) =>
      fc.constantFrom(
        eventPayload("taskFailed", { category, exitCode: 1, message: "f" }),
        eventPayload("jobExecFail", { category, message: "f" }),
        eventPayload("jobFailure", { task: task("clean/1"), category, message: "f" }),
      ),
    ),
  fc.constant(eventPayload("configValidateFail", { message: "bad" })),
  fc.constant(eventPayload("logEntry", { line: "noise" })),
);

/** A random history of up to `max` events, timestamps increasing. */
export function randomHistory(max = 60): fc.Arbitrary<BuildEvent[]> {
  return fc
    .array(
      fc.record({ payload, build: fc.constantFrom(...BUILDS), run: fc.constantFrom("", ...RUNS), gapMs: fc.nat(3000) }),
      { maxLength: max },
    )
    .map((items) => {
      let at = 1_800_000_000_000;
      return items.map(({ payload: p, build, run, gapMs }) =>
        newEvent({ buildRequestId: build, jobRunId: run || undefined }, p, (at += gapMs)),
      );
    });
}
