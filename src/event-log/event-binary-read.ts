/**
 * @module Decoding the most frequent events without reflection: a build
 * records a `partitionStatusChanged` and often a `partitionDelegated` per
 * requested partition, and a no-op build reads back thousands of them while
 * it loads the shared view, where protobuf-es's reflective `fromBinary` cost
 * about 90 µs an event on a cold start (a tenth of a no-op build of W at
 * N = 10,000). `decodeFrequentEvent` gives exactly what `fromBinary` gives
 * (event-binary-read.test.ts checks random messages), or undefined for
 * anything else: another kind, an unknown field, a field given twice, so
 * the caller decodes those reflectively.
 */
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type {
  BuildEvent,
  DelegationReason,
  PartitionDelegated,
  PartitionRef,
  PartitionStatus,
  PartitionStatusChanged,
} from "../gen/databuild_pb.ts";

/** BuildEvent's fields (proto/databuild.proto). */
const EVENT_ID = 1;
const TIMESTAMP = 2;
const BUILD_REQUEST_ID = 3;
const JOB_RUN_ID = 4;
const PARTITION_STATUS_CHANGED = 20;
const PARTITION_DELEGATED = 21;

/** Thrown inside to fall back to the reflective decoder; never escapes. */
const NOT_FREQUENT = Symbol("not a frequent event");

export function decodeFrequentEvent(bytes: Uint8Array): BuildEvent | undefined {
  try {
    return buildEvent(new BinaryReader(bytes));
  } catch {
    // NOT_FREQUENT, or malformed bytes: the reflective decoder decodes, or says what is wrong.
    return undefined;
  }
}

function buildEvent(r: BinaryReader): BuildEvent {
  let eventId = "";
  let timestamp: Timestamp | undefined;
  let buildRequestId = "";
  let jobRunId = "";
  let event: BuildEvent["event"] | undefined;
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === EVENT_ID && wire === WireType.LengthDelimited) eventId = r.string();
    else if (field === BUILD_REQUEST_ID && wire === WireType.LengthDelimited) buildRequestId = r.string();
    else if (field === JOB_RUN_ID && wire === WireType.LengthDelimited) jobRunId = r.string();
    else if (field === TIMESTAMP && wire === WireType.LengthDelimited && timestamp === undefined)
      timestamp = sub(r, timestampOf);
    else if (field === PARTITION_STATUS_CHANGED && wire === WireType.LengthDelimited && event === undefined)
      event = { case: "partitionStatusChanged", value: sub(r, statusChanged) };
    else if (field === PARTITION_DELEGATED && wire === WireType.LengthDelimited && event === undefined)
      event = { case: "partitionDelegated", value: sub(r, delegated) };
    else throw NOT_FREQUENT;
  }
  if (event === undefined) throw NOT_FREQUENT;
  // As fromBinary: an absent message field is no property at all (not one set to undefined).
  const decoded: BuildEvent = { $typeName: "databuild.v1.BuildEvent", eventId, buildRequestId, jobRunId, event };
  if (timestamp !== undefined) decoded.timestamp = timestamp;
  return decoded;
}

/** Reads a length-delimited submessage with `read`, which must consume exactly its bytes. */
function sub<T>(r: BinaryReader, read: (r: BinaryReader) => T): T {
  return read(new BinaryReader(r.bytes()));
}

function timestampOf(r: BinaryReader): Timestamp {
  let seconds = 0n;
  let nanos = 0;
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.Varint) seconds = BigInt(r.int64());
    else if (field === 2 && wire === WireType.Varint) nanos = r.int32();
    else throw NOT_FREQUENT;
  }
  return { $typeName: "google.protobuf.Timestamp", seconds, nanos };
}

function partitionRef(r: BinaryReader): PartitionRef {
  let str = "";
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited) str = r.string();
    else throw NOT_FREQUENT;
  }
  return { $typeName: "databuild.v1.PartitionRef", str };
}

function statusChanged(r: BinaryReader): PartitionStatusChanged {
  let ref: PartitionRef | undefined;
  let status = 0;
  let jobRunId = "";
  let message = "";
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited && ref === undefined) ref = sub(r, partitionRef);
    else if (field === 2 && wire === WireType.Varint) status = r.int32();
    else if (field === 3 && wire === WireType.LengthDelimited) jobRunId = r.string();
    else if (field === 4 && wire === WireType.LengthDelimited) message = r.string();
    else throw NOT_FREQUENT;
  }
  const decoded: PartitionStatusChanged = {
    $typeName: "databuild.v1.PartitionStatusChanged",
    status: status as PartitionStatus,
    jobRunId,
    message,
  };
  if (ref !== undefined) decoded.partitionRef = ref;
  return decoded;
}

function delegated(r: BinaryReader): PartitionDelegated {
  let ref: PartitionRef | undefined;
  let delegateBuildRequestId = "";
  let delegateJobRunId = "";
  let reason = 0;
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited && ref === undefined) ref = sub(r, partitionRef);
    else if (field === 2 && wire === WireType.LengthDelimited) delegateBuildRequestId = r.string();
    else if (field === 3 && wire === WireType.LengthDelimited) delegateJobRunId = r.string();
    else if (field === 4 && wire === WireType.Varint) reason = r.int32();
    else throw NOT_FREQUENT;
  }
  const decoded: PartitionDelegated = {
    $typeName: "databuild.v1.PartitionDelegated",
    delegateBuildRequestId,
    delegateJobRunId,
    reason: reason as DelegationReason,
  };
  if (ref !== undefined) decoded.partitionRef = ref;
  return decoded;
}
