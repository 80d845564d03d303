// The reflection-free decoder of the most frequent events against protobuf-es's
// fromBinary, on random events (fast-check): the same message, or no answer
// (then fromBinary is used).
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BuildEventSchema, PartitionStatus } from "../gen/databuild_pb.ts";
import { decodeFrequentEvent } from "./event-binary-read.ts";
import { sampleEvents } from "./sample-events.ts";
import { int32, ref, text, timestamp } from "../testing/proto-arbitraries.ts";

const optionalRef = fc.option(ref, { nil: undefined });
const payload = fc.oneof(
  fc
    .record({ partitionRef: optionalRef, status: int32, jobRunId: text, message: text })
    .map((value) => ({ case: "partitionStatusChanged" as const, value })),
  fc
    .record({ partitionRef: optionalRef, delegateBuildRequestId: text, delegateJobRunId: text, reason: int32 })
    .map((value) => ({ case: "partitionDelegated" as const, value })),
);
const event = fc
  .record({
    eventId: text,
    timestamp: fc.option(timestamp, { nil: undefined }),
    buildRequestId: text,
    jobRunId: text,
    event: payload,
  })
  .map((init) => create(BuildEventSchema, init as never));

describe("decodeFrequentEvent", () => {
  it("decodes partitionStatusChanged and partitionDelegated exactly as fromBinary does", () => {
    fc.assert(
      fc.property(event, (e) => {
        const bytes = toBinary(BuildEventSchema, e);
        const fast = decodeFrequentEvent(bytes);
        expect(fast).toBeDefined();
        expect(fast).toStrictEqual(fromBinary(BuildEventSchema, bytes));
      }),
      { numRuns: 500 },
    );
  });

  it("leaves every other kind, and unknown fields, to fromBinary", () => {
    const kinds = new Set<string>();
    for (const e of sampleEvents(200)) {
      const bytes = toBinary(BuildEventSchema, e);
      const fast = decodeFrequentEvent(bytes);
      kinds.add(e.event.case ?? "");
      if (e.event.case === "partitionStatusChanged" || e.event.case === "partitionDelegated")
        expect(fast).toStrictEqual(fromBinary(BuildEventSchema, bytes));
      else expect(fast).toBeUndefined();
    }
    // The samples hold both the fast kinds and others.
    expect(kinds).toContain("partitionStatusChanged");
    expect(kinds.size).toBeGreaterThan(5);
    const known = create(BuildEventSchema, {
      event: { case: "partitionStatusChanged", value: { status: PartitionStatus.PARTITION_AVAILABLE } },
    });
    const withUnknown = new Uint8Array([...toBinary(BuildEventSchema, known), 0xf8, 0x3e, 0x01]); // field 999, varint 1
    expect(decodeFrequentEvent(withUnknown)).toBeUndefined();
    expect(fromBinary(BuildEventSchema, withUnknown).$unknown).toHaveLength(1);
  });

  it("gives no answer for random bytes, never an exception", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const fast = decodeFrequentEvent(bytes);
        if (fast !== undefined) expect(fast).toStrictEqual(fromBinary(BuildEventSchema, bytes));
      }),
      { numRuns: 2000 },
    );
  });
});
