/**
 * @module Test support: BuildEvents of varied kinds and shapes (nested
 * messages, maps, enums, 64-bit integers, timestamps with nanoseconds) for
 * the contract suite and backend tests.
 */
import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { eventPayload, type EventPayload } from "../core/build-event.ts";
import { newEvent, type EventScope } from "../core/new-event.ts";
import {
  BuildRequestStatus,
  DepType,
  ExitCategory,
  LogStream,
  PartitionStatus,
  type BuildEvent,
} from "../gen/databuild_pb.ts";

const ref = (str: string) => ({ str });

function payload(i: number): EventPayload {
  const at = (s: number) => create(TimestampSchema, { seconds: 1_714_550_400n + BigInt(s), nanos: 123_456_789 });
  const task = {
    job: { label: "clean" },
    config: {
      outputs: [ref(`clean/date=${i}`)],
      inputs: [
        { depType: DepType.MATERIALIZE, partitionRef: ref(`raw/date=${i}`) },
        { depType: DepType.QUERY, partitionRef: ref(`lookup/date=${i}`) },
      ],
      args: ["--date", String(i)],
      env: { TZ: "UTC", RUN: `r${i}`, EMPTY: "" },
    },
  };
  switch (i % 8) {
    case 0:
      return eventPayload("buildRequestReceived", {
        requestedPartitions: [ref(`report/week=${i}`), ref("report/week=0")],
        graphLabel: "weather",
        requester: "user@host pid 1234",
        options: { parallel: 4, keepGoing: true, force: false, dryRun: false },
      });
    case 1:
      return eventPayload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_EXECUTING });
    case 2:
      return eventPayload("partitionStatusChanged", {
        partitionRef: ref(`clean/date=${i}`),
        status: PartitionStatus.PARTITION_BUILDING,
        jobRunId: `run-${i}`,
        message: "unicode ✓ ünïcödé\nsecond line",
      });
    case 3:
      return eventPayload("jobGraph", { jobGraph: { label: "g", outputs: [ref(`clean/date=${i}`)], nodes: [task] } });
    case 4:
      return eventPayload("partitionManifest", {
        outputs: [ref(`clean/date=${i}`)],
        inputs: [{ partitionRef: ref(`raw/date=${i}`), jobRunId: "run-0", builtAt: at(i - 1) }],
        startTime: at(i),
        endTime: at(i + 1),
        task,
        buildRequestId: "br",
        jobRunId: `run-${i}`,
        jobVersion: "1.2.3",
      });
    case 5:
      return eventPayload("logEntry", {
        stream: LogStream.STDERR,
        sequence: 9_007_199_254_740_993n + BigInt(i),
        line: `line ${i}`,
        continued: true,
      });
    case 6:
      return eventPayload("taskFailed", {
        category: ExitCategory.EXIT_SIGNAL,
        exitCode: -9,
        signal: "SIGKILL",
        stderrTail: ["a", "", "c"],
      });
    default:
      return eventPayload("jobHeartbeat", { rssBytes: 18_446_744_073_709_551_615n });
  }
}

/** The `i`-th sample event in `scope`; its kind cycles through eight with `i`. */
export function sampleEvent(i: number, scope: EventScope = { buildRequestId: "br-1" }): BuildEvent {
  return newEvent(scope, payload(i), 1_714_550_400_000 + i);
}

/** `n` sample events in `scope`, starting at index `from`. */
export function sampleEvents(n: number, scope?: EventScope, from = 0): BuildEvent[] {
  return Array.from({ length: n }, (_, k) => sampleEvent(from + k, scope));
}
