/**
 * @module How one BuildEvent is stored as one row, and read back, by the
 * backends that keep the envelope in columns (SQLite's schema version 3,
 * PostgreSQL). The envelope fields that have columns (event id, build
 * request, job run, and the timestamp when a column holds it exactly) are
 * cleared from the payload before encoding, so each is stored once; reading
 * fills them back in from the columns.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampAtMs } from "../core/timestamp.ts";
import { partitionRefsOf } from "../core/partition-refs.ts";
import { BuildEventSchema, type BuildEvent } from "../gen/databuild_pb.ts";
import { encodeEvent } from "./event-binary.ts";
import { decodeFrequentEvent } from "./event-binary-read.ts";
import { installFastTextEncoding } from "./fast-text-encoding.ts";
import { upcastEvent } from "./upcast-event.ts";
import { kindCodeOf } from "./kind-code.ts";
import { fromStoredId, idTimeMs, toStoredId, type StoredId } from "./stored-id.ts";

installFastTextEncoding();

/** An event ready to insert: its columns, and the partitions it is about (the per-partition index). */
export interface EventRow {
  readonly eventId: StoredId;
  /** The build request and job run ids (SQLite interns them into its `ids` table); "" for none (NULL column). */
  readonly buildRequestId: string;
  readonly jobRunId: string;
  /** kind-code.ts; null for an event without a payload this databuild knows. */
  readonly kind: number | null;
  /** The timestamp in ms minus `idTimeMs(eventId)`; null when the payload keeps the timestamp (or there is none). */
  readonly time: number | null;
  readonly payload: Buffer;
  /** `partitionRefsOf(event)`, each once. */
  readonly partitions: readonly string[];
}

/** The columns a read selects, in order: offset, event_id, the build request's and job run's stored ids, time, payload. */
export type StoredEvent = [
  offset: number,
  eventId: StoredId,
  buildRequest: StoredId | null,
  jobRun: StoredId | null,
  time: number | null,
  payload: Buffer,
];

/** Encodes `event` as a row. */
export function toEventRow(event: BuildEvent): EventRow {
  const eventId = toStoredId(event.eventId);
  const ms = event.timestamp && exactMs(event.timestamp);
  const stored: BuildEvent = {
    ...event,
    eventId: "",
    buildRequestId: "",
    jobRunId: "",
    timestamp: ms === undefined ? event.timestamp : undefined,
  };
  // A job run's events (most of a log) without reflection; any other kind through protobuf-es.
  const bytes = encodeEvent(stored) ?? toBinary(BuildEventSchema, stored);
  return {
    eventId,
    buildRequestId: event.buildRequestId,
    jobRunId: event.jobRunId,
    kind: kindCodeOf(event),
    time: ms === undefined ? null : ms - idTimeMs(eventId),
    payload: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    partitions: partitionsOf(event),
  };
}

/** `partitionRefsOf(event)`, each ref once: the entries of the per-partition index. */
export function partitionsOf(event: BuildEvent): readonly string[] {
  const refs = partitionRefsOf(event);
  return refs.length > 1 ? [...new Set(refs)] : refs;
}

/**
 * Decodes a stored event: the payload, with each envelope field the payload
 * left empty filled in from its column. A row written before schema version
 * 3 (or read through the old layout) has a whole payload, and its columns
 * then only repeat what it holds, so the same code reads both. The only read
 * path for stored events: a future schema translation goes here (or in
 * `upcastEvent`, shared by all backends). Throws when the bytes are not a
 * BuildEvent.
 */
export function fromStoredEvent([, eventId, buildRequest, jobRun, time, payload]: StoredEvent): BuildEvent {
  const event = decodeFrequentEvent(payload) ?? fromBinary(BuildEventSchema, payload);
  if (event.eventId === "") event.eventId = fromStoredId(eventId);
  if (event.buildRequestId === "" && buildRequest !== null) event.buildRequestId = fromStoredId(buildRequest);
  if (event.jobRunId === "" && jobRun !== null) event.jobRunId = fromStoredId(jobRun);
  if (event.timestamp === undefined && time !== null) event.timestamp = timestampAtMs(idTimeMs(eventId) + time);
  return upcastEvent(event);
}

/** Decodes a payload column alone (an envelope without the column fields). Throws when the bytes are not a BuildEvent. */
export function fromPayload(payload: Uint8Array): BuildEvent {
  return upcastEvent(decodeFrequentEvent(payload) ?? fromBinary(BuildEventSchema, payload));
}

/** `ts` in whole milliseconds when that is exact (timestampFromMs gives it back as it is), else undefined. */
export function exactMs(ts: Timestamp): number | undefined {
  if (ts.nanos < 0 || ts.nanos > 999_999_999 || ts.nanos % 1_000_000 !== 0 || ts.$unknown?.length) return undefined;
  const ms = Number(ts.seconds) * 1000 + ts.nanos / 1_000_000;
  return Number.isSafeInteger(ms) && BigInt(Math.floor(ms / 1000)) === ts.seconds ? ms : undefined;
}
