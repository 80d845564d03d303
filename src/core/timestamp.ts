/**
 * @module Timestamps made without reflection: protobuf-es's
 * `timestampFromMs` builds the message through its reflective `create`, which
 * costs microseconds a call (13 µs on a cold start); every event databuild
 * makes or reads back carries one. timestamp.test.ts checks the two agree.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";

/** The google.protobuf.Timestamp of `ms` milliseconds since the epoch: what `timestampFromMs(ms)` makes. */
export function timestampAtMs(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { $typeName: "google.protobuf.Timestamp", seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}
