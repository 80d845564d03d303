/**
 * @module How the SQLite log (schema version 4 on) stores an event beyond
 * the shared row encoding (event-row.ts): a partitionManifest names its
 * build request and job run, which are nearly always its event's own, and
 * those are columns already. Such a manifest is stored without them (about
 * 76 bytes of a job run's), the job run ids of its inputs (canonical UUIDs,
 * 36 characters) as the base64url of their 16 bytes (22 characters, about
 * 40 bytes of a job run's), and its row is marked by the negated kind code;
 * reading undoes both. A manifest whose ids differ from its event's, or with
 * an input job run id that is no canonical UUID, is stored whole, with the
 * positive code, as before version 4, so reading gives back exactly what was
 * appended either way.
 *
 * A payload of another kind of at least DEFLATE_FROM bytes (the job graph,
 * a build's config and claims: 0.1 to 1 MB each, about 100 bytes per job run
 * of W) is stored deflated when that makes it smaller, its row marked by the
 * negated kind code too.
 */
import { deflateSync, inflateSync } from "node:zlib";
import type { BuildEvent, ManifestRef } from "../../gen/databuild_pb.ts";
import { fromStoredEvent, toEventRow, type EventRow, type StoredEvent } from "../event-row.ts";
import { kindCode } from "../kind-code.ts";
import { fromStoredId, toStoredId } from "../stored-id.ts";

/** Payloads this large or larger (but manifests) are stored deflated. */
export const DEFLATE_FROM = 4096;
const MANIFEST = kindCode("partitionManifest");

/** A SQLite read's columns: StoredEvent's, then the kind column. */
export type SqliteStoredEvent = [...StoredEvent, kind: number | null];

/** The row of `event` in the SQLite log. */
export function toSqliteRow(event: BuildEvent): EventRow {
  const p = event.event;
  if (
    p.case !== "partitionManifest" ||
    p.value.jobRunId === "" ||
    p.value.jobRunId !== event.jobRunId ||
    p.value.buildRequestId !== event.buildRequestId
  ) {
    return deflated(toEventRow(event));
  }
  const inputs: ManifestRef[] = [];
  for (const input of p.value.inputs) {
    if (input.jobRunId === "") {
      inputs.push(input);
      continue;
    }
    const stored = toStoredId(input.jobRunId);
    if (typeof stored === "string") return deflated(toEventRow(event));
    inputs.push({ ...input, jobRunId: stored.toString("base64url") });
  }
  const lean: BuildEvent = {
    ...event,
    event: { case: "partitionManifest", value: { ...p.value, buildRequestId: "", jobRunId: "", inputs } },
  };
  const row = toEventRow(lean);
  return { ...row, kind: -row.kind! };
}

/** `row` with its payload deflated, when it is large and that makes it smaller. */
function deflated(row: EventRow): EventRow {
  if (row.payload.length < DEFLATE_FROM || row.kind === null || row.kind === MANIFEST) return row;
  const payload = deflateSync(row.payload, { level: 1 });
  return payload.length < row.payload.length ? { ...row, kind: -row.kind, payload } : row;
}

/** Whether a row of `kind` (its kind column; null before schema version 3) holds a deflated payload. */
function isDeflated(kind: number | null): boolean {
  return kind !== null && kind < 0 && kind !== -MANIFEST;
}

/** The payload of a row as protobuf bytes: inflated when its kind column marks it deflated. */
export function storedPayload(payload: Buffer, kind: number | null): Buffer {
  return isDeflated(kind) ? inflateSync(payload) : payload;
}

/** Decodes a row read from the SQLite log. Throws when the bytes are not a BuildEvent. */
export function fromSqliteRow(row: SqliteStoredEvent): BuildEvent {
  // A v2 layout's read has no kind column.
  const kind = row[6] ?? 0;
  if (isDeflated(kind)) {
    const [offset, eventId, buildRequest, jobRun, time, payload] = row;
    return fromStoredEvent([offset, eventId, buildRequest, jobRun, time, storedPayload(payload, kind)]);
  }
  const event = fromStoredEvent(row as unknown as StoredEvent);
  if (kind < 0 && event.event.case === "partitionManifest") {
    const manifest = event.event.value;
    manifest.buildRequestId = event.buildRequestId;
    manifest.jobRunId = event.jobRunId;
    for (const input of manifest.inputs) {
      if (input.jobRunId !== "") input.jobRunId = fromStoredId(Buffer.from(input.jobRunId, "base64url"));
    }
  }
  return event;
}
