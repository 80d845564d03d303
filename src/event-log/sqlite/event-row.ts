/**
 * @module How one BuildEvent is stored as one row, and read back.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { BuildEventSchema, type BuildEvent } from "../../gen/databuild_pb.ts";
import { installFastTextEncoding } from "../fast-text-encoding.ts";
import { upcastEvent } from "../upcast-event.ts";

installFastTextEncoding();

/** The columns of an `events` row other than `offset`, in INSERT order. */
export type EventRow = [
  eventId: string,
  buildRequestId: string,
  jobRunId: string,
  kind: string | null,
  timestampMs: number | null,
  payload: Buffer,
];

/** Encodes `event`: the payload column is the whole event; the rest are copies for the indexes. */
export function toEventRow(event: BuildEvent): EventRow {
  const bytes = toBinary(BuildEventSchema, event);
  return [
    event.eventId,
    event.buildRequestId,
    event.jobRunId,
    event.event.case ?? null,
    event.timestamp ? timestampMs(event.timestamp) : null,
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  ];
}

/**
 * Decodes a payload column. The only read path for stored events, so a future
 * schema translation goes here (or in `upcastEvent`, shared by all backends).
 * Throws when the bytes are not a BuildEvent.
 */
export function fromPayload(payload: Uint8Array): BuildEvent {
  return upcastEvent(fromBinary(BuildEventSchema, payload));
}
