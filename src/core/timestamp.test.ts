// Timestamps made without reflection are the messages protobuf-es makes.
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { timestampAtMs } from "./timestamp.ts";

describe("timestampAtMs", () => {
  it("makes the message timestampFromMs makes, for any millisecond (before 1970 too)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
        expect(timestampAtMs(ms)).toStrictEqual(timestampFromMs(ms));
      }),
      { numRuns: 2000 },
    );
    expect(timestampAtMs(1_714_550_400_123)).toStrictEqual(timestampFromMs(1_714_550_400_123));
  });
});
