// The schema-specific binary encoder of a job run's events against
// protobuf-es's reflective toBinary, on random events (fast-check): the same
// bytes, or no answer (then toBinary is used).
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BuildEventSchema, type BuildEvent } from "../gen/databuild_pb.ts";
import { encodeEvent } from "./event-binary.ts";
import { sampleEvents } from "./sample-events.ts";
import { int32, ref, text, timestamp, uint32, uint64 } from "../testing/proto-arbitraries.ts";

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const env = fc.array(fc.tuple(text, text), { maxLength: 3 }).map((entries) => {
  const record: Record<string, string> = {};
  for (const [k, v] of entries) Object.defineProperty(record, k, { value: v, enumerable: true, writable: true });
  return record;
});
const label = text.map((value) => ({ $typeName: "databuild.v1.JobLabel" as const, label: value }));
const task = fc
  .record({
    job: optional(label),
    config: optional(
      fc
        .record({
          outputs: fc.array(ref, { maxLength: 3 }),
          inputs: fc.array(
            fc
              .record({ depType: int32, partitionRef: optional(ref) })
              .map((d) => ({ $typeName: "databuild.v1.DataDep" as const, ...d })),
            { maxLength: 8 },
          ),
          args: fc.array(text, { maxLength: 3 }),
          env,
        })
        .map((c) => ({ $typeName: "databuild.v1.JobConfig" as const, ...c })),
    ),
  })
  .map((t) => ({ $typeName: "databuild.v1.Task" as const, ...t }));
const logTruncation = fc
  .record({ limitBytes: uint64, linesDropped: uint64, bytesDropped: uint64 })
  .map((t) => ({ $typeName: "databuild.v1.LogTruncation" as const, ...t }));
const manifest = fc
  .record({
    outputs: fc.array(ref, { maxLength: 3 }),
    inputs: fc.array(
      fc
        .record({ partitionRef: optional(ref), depType: int32, jobRunId: text, builtAt: optional(timestamp) })
        .map((r) => ({ $typeName: "databuild.v1.ManifestRef" as const, ...r })),
      { maxLength: 40 },
    ),
    startTime: optional(timestamp),
    endTime: optional(timestamp),
    task: optional(task),
    buildRequestId: text,
    jobRunId: text,
    jobVersion: text,
    graphLabel: text,
  })
  .map((m) => ({ $typeName: "databuild.v1.PartitionManifest" as const, ...m }));

/** A payload of each kind the encoder writes, made with `create` from random field values. */
const payload: fc.Arbitrary<BuildEvent["event"]> = fc.oneof(
  fc
    .record({ partitionRef: optional(ref), status: int32, jobRunId: text, message: text })
    .map((value) => ({ case: "partitionStatusChanged" as const, value })),
  fc
    .record({ partitionRef: optional(ref), delegateBuildRequestId: text, delegateJobRunId: text, reason: int32 })
    .map((value) => ({ case: "partitionDelegated" as const, value })),
  fc.record({ task: optional(task) }).map((value) => ({ case: "configValidateSuccess" as const, value })),
  fc
    .record({ task: optional(task), pid: uint32, hostname: text })
    .map((value) => ({ case: "taskLaunchSuccess" as const, value })),
  fc.record({ rssBytes: uint64 }).map((value) => ({ case: "jobHeartbeat" as const, value })),
  fc
    .record({ stream: int32, sequence: uint64, line: text, continued: fc.boolean(), truncated: optional(fc.boolean()) })
    .map((value) => ({ case: "logEntry" as const, value })),
  fc
    .record({ startTime: optional(timestamp), endTime: optional(timestamp), logTruncation: optional(logTruncation) })
    .map((value) => ({ case: "taskSuccess" as const, value })),
  manifest.map((value) => ({ case: "partitionManifest" as const, value })),
  fc
    .record({ ready: uint32, running: uint32, waiting: uint32 })
    .map((value) => ({ case: "remainingJobs" as const, value })),
  fc.record({ task: optional(task), attempt: uint32 }).map((value) => ({ case: "jobScheduleSuccess" as const, value })),
  fc.record({ runningJobs: uint32 }).map((value) => ({ case: "buildHeartbeat" as const, value })),
  fc.record({ status: int32, message: text }).map((value) => ({ case: "buildRequestStatusChanged" as const, value })),
  fc
    .record({ partitions: fc.array(ref, { maxLength: 5 }) })
    .map((value) => ({ case: "partitionsClaimed" as const, value })),
  fc
    .record({
      jobGraph: optional(
        fc.record({ label: text, outputs: fc.array(ref, { maxLength: 3 }), nodes: fc.array(task, { maxLength: 4 }) }),
      ),
    })
    .map((value) => ({ case: "jobGraph" as const, value })),
  fc
    .record({ job: optional(label), partitionRefs: fc.array(ref, { maxLength: 5 }) })
    .map((value) => ({ case: "argValidateSuccess" as const, value })),
  fc
    .record({ job: optional(label), partitionRefs: fc.array(ref, { maxLength: 5 }), configCount: uint32 })
    .map((value) => ({ case: "configSuccess" as const, value })),
) as fc.Arbitrary<BuildEvent["event"]>;

const event: fc.Arbitrary<BuildEvent> = fc
  .record({ eventId: text, timestamp: optional(timestamp), buildRequestId: text, jobRunId: text, payload })
  .map(({ payload: p, ...envelope }) => create(BuildEventSchema, { ...envelope, event: p as never }));

describe("encodeEvent", () => {
  it("writes exactly protobuf-es's bytes for random events of a job run's kinds", () => {
    fc.assert(
      fc.property(event, (e) => {
        const fast = encodeEvent(e);
        expect(fast).toBeDefined();
        expect(Buffer.from(fast!).equals(Buffer.from(toBinary(BuildEventSchema, e)))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("writes the same bytes for the sample history, and leaves other kinds to protobuf-es", () => {
    let written = 0;
    for (const e of sampleEvents(50)) {
      const fast = encodeEvent(e);
      if (fast === undefined) {
        expect(["partitionStatusChanged", "partitionManifest", "jobScheduleSuccess", "logEntry"]).not.toContain(
          e.event.case,
        );
        continue;
      }
      written++;
      expect(Buffer.from(fast).equals(Buffer.from(toBinary(BuildEventSchema, e)))).toBe(true);
    }
    expect(written).toBeGreaterThan(0);
  });

  it("leaves to protobuf-es what it would write differently: unknown fields, values out of range", () => {
    const base = create(BuildEventSchema, {
      event: { case: "partitionStatusChanged", value: { partitionRef: { str: "a" }, status: 2 } },
    });
    const withUnknown = { ...base, $unknown: [{ no: 999, wireType: 0, data: new Uint8Array([1]) }] };
    expect(encodeEvent(withUnknown)).toBeUndefined();
    const outOfRange = create(BuildEventSchema, { event: { case: "remainingJobs", value: { ready: 1 } } });
    (outOfRange.event.value as { ready: number }).ready = -1;
    expect(encodeEvent(outOfRange)).toBeUndefined();
    expect(encodeEvent(create(BuildEventSchema, { event: { case: "graphBuildSuccess", value: {} } }))).toBeUndefined();
  });
});
