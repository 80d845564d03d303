/**
 * @module Cutting the envelope fields out of an encoded BuildEvent without
 * decoding the rest: how the v3 migration turns an old whole payload into a
 * v3 one. Decoding and re-encoding every event would cost most of the
 * migration's time (tens of microseconds per event, seconds on a long
 * history); walking the top-level fields costs about one.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { BuildEventSchema } from "../../gen/databuild_pb.ts";
import { exactMs } from "../event-row.ts";

const EVENT_ID = BuildEventSchema.field.eventId.number;
const TIMESTAMP = BuildEventSchema.field.timestamp.number;
const BUILD_REQUEST_ID = BuildEventSchema.field.buildRequestId.number;
const JOB_RUN_ID = BuildEventSchema.field.jobRunId.number;

/** An encoded event split into its envelope fields and the rest. */
export interface SplitEnvelope {
  readonly eventId: string;
  readonly buildRequestId: string;
  readonly jobRunId: string;
  /** The timestamp in exact ms when it was cut out; undefined when `rest` keeps it (or there is none). */
  readonly timestampMs: number | undefined;
  /** The encoded event without the fields cut out, every other byte as it was. */
  readonly rest: Buffer;
}

/**
 * Splits `payload` as toEventRow would split the decoded event: the last of
 * each string field (as decoding would keep), the timestamp only when it
 * occurs once and is exact in ms. Throws when the top-level fields do not
 * parse, or an envelope field has the wrong wire type (decoding would fail
 * too).
 */
export function splitEnvelope(payload: Buffer): SplitEnvelope {
  const reader = new BinaryReader(payload);
  const kept: [start: number, end: number][] = [];
  const timestamps: [start: number, end: number, bytes: Uint8Array][] = [];
  const strings = new Map<number, string>();
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [field, wireType] = reader.tag();
    const envelope = field === EVENT_ID || field === BUILD_REQUEST_ID || field === JOB_RUN_ID || field === TIMESTAMP;
    if (!envelope) {
      reader.skip(wireType, field);
      kept.push([start, reader.pos]);
      continue;
    }
    if (wireType !== WireType.LengthDelimited) throw new Error(`field ${field} has wire type ${wireType}`);
    if (field === TIMESTAMP) {
      const bytes = reader.bytes();
      timestamps.push([start, reader.pos, bytes]);
    } else {
      strings.set(field, reader.string());
    }
  }
  let timestampMs: number | undefined;
  if (timestamps.length === 1) timestampMs = exactMs(fromBinary(TimestampSchema, timestamps[0]![2]));
  if (timestampMs === undefined) kept.push(...timestamps.map(([s, e]) => [s, e] as [number, number]));
  kept.sort((a, b) => a[0] - b[0]);
  return {
    eventId: strings.get(EVENT_ID) ?? "",
    buildRequestId: strings.get(BUILD_REQUEST_ID) ?? "",
    jobRunId: strings.get(JOB_RUN_ID) ?? "",
    timestampMs,
    rest: joinRanges(payload, kept),
  };
}

/** The bytes of `ranges` (in order) of `buf`; a subarray, not a copy, when they are one run. */
function joinRanges(buf: Buffer, ranges: readonly [number, number][]): Buffer {
  const merged: [number, number][] = [];
  for (const [s, e] of ranges) {
    const last = merged.at(-1);
    if (last && last[1] === s) last[1] = e;
    else merged.push([s, e]);
  }
  if (merged.length === 1) return buf.subarray(merged[0]![0], merged[0]![1]);
  return Buffer.concat(merged.map(([s, e]) => buf.subarray(s, e)));
}
