/**
 * @module How the SQLite log (schema version 4 on) stores an event beyond
 * the shared row encoding (event-row.ts): a partitionManifest names its
 * build request and job run, which are nearly always its event's own, and
 * those are columns already. Such a manifest is stored without them (about
 * 76 bytes of a job run's), the job run ids of its inputs (canonical UUIDs,
 * 36 characters) as their numbers in the `ids` table, where the job runs'
 * own events interned them already (`~` and base 36: 4 or 5 characters;
 * version 4 stored the id's 16 bytes in base64url, 22 characters; together
 * about 100 bytes of a job run's), and its row is marked by the negated kind
 * code; reading undoes all of it. A manifest whose ids differ from its
 * event's, or with an input job run id that is no canonical UUID, is stored
 * whole, with the positive code, as before version 4, so reading gives back
 * exactly what was appended either way.
 *
 * A payload of another kind of at least DEFLATE_FROM bytes (the job graph,
 * a build's config and claims: 0.1 to 1 MB each, about 100 bytes per job run
 * of W) is stored deflated when that makes it smaller, its row marked by the
 * negated kind code too.
 */
import { deflateSync, inflateSync } from "node:zlib";
import type { BuildEvent, ManifestRef } from "../../gen/databuild_pb.ts";
import { fromStoredEvent, partitionsOf, toEventRow, type EventRow, type StoredEvent } from "../event-row.ts";
import { kindCode } from "../kind-code.ts";
import { fromStoredId, toStoredId } from "../stored-id.ts";

/** Payloads this large or larger (but manifests) are stored deflated. */
export const DEFLATE_FROM = 4096;
const MANIFEST = kindCode("partitionManifest");

/** A SQLite read's columns: StoredEvent's, then the kind column. */
export type SqliteStoredEvent = [...StoredEvent, kind: number | null];

/** A row of the SQLite log: a lean manifest's payload is made inside the write transaction. */
export interface SqliteEventRow extends EventRow {
  /**
   * The payload of a lean manifest (schema version 5 on): each input's job
   * run id becomes `~` and its number in the `ids` table in base 36, which
   * only the transaction that inserts the row may look up or add (`idOf`).
   * `payload` is empty then.
   */
  readonly leanManifest?: (idOf: (jobRunId: string) => number) => Buffer;
}

/** Marks an input's job run id stored as its number in the `ids` table; never in base64url. */
const INTERNED = "~";
const EMPTY = Buffer.alloc(0);

/** The row of `event` in the SQLite log. */
export function toSqliteRow(event: BuildEvent): SqliteEventRow {
  const p = event.event;
  if (
    p.case !== "partitionManifest" ||
    p.value.jobRunId === "" ||
    p.value.jobRunId !== event.jobRunId ||
    p.value.buildRequestId !== event.buildRequestId
  ) {
    return deflated(toEventRow(event));
  }
  for (const input of p.value.inputs) {
    if (input.jobRunId !== "" && typeof toStoredId(input.jobRunId) === "string") return deflated(toEventRow(event));
  }
  // The inputs as they are now: the payload is made at commit, and the caller may change its event meanwhile.
  const inputs = p.value.inputs.map(copyInput);
  const lean = (leanInputs: ManifestRef[]): BuildEvent => ({
    ...event,
    event: { case: "partitionManifest", value: { ...p.value, buildRequestId: "", jobRunId: "", inputs: leanInputs } },
  });
  // Encoded once here, without the inputs' job runs: the columns, and any encoding error now rather than inside
  // the write transaction (where it would fail every append of the batch). The index entries are the whole event's.
  const columns = toEventRow(lean(inputs.map((input) => ({ ...input, jobRunId: "" }))));
  return {
    ...columns,
    kind: -columns.kind!,
    payload: EMPTY,
    partitions: partitionsOf(event),
    leanManifest: (idOf) =>
      toEventRow(
        lean(
          inputs.map((input) =>
            input.jobRunId === "" ? input : { ...input, jobRunId: INTERNED + idOf(input.jobRunId).toString(36) },
          ),
        ),
      ).payload,
  };
}

function copyInput(input: ManifestRef): ManifestRef {
  const copy: ManifestRef = { ...input };
  if (input.partitionRef) copy.partitionRef = { ...input.partitionRef };
  if (input.builtAt) copy.builtAt = { ...input.builtAt };
  return copy;
}

/** `row` with its payload deflated, when it is large and that makes it smaller. */
function deflated(row: EventRow): SqliteEventRow {
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

/**
 * Decodes a row read from the SQLite log. `runOf` names the job run of a
 * number in the `ids` table (a lean manifest's inputs). Throws when the bytes
 * are not a BuildEvent.
 */
export function fromSqliteRow(row: SqliteStoredEvent, runOf: (id: number) => string): BuildEvent {
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
      const stored = input.jobRunId;
      if (stored === "") continue;
      // Version 5 on: a number in the ids table; version 4: the id's 16 bytes in base64url.
      input.jobRunId = stored.startsWith(INTERNED)
        ? runOf(parseInt(stored.slice(1), 36))
        : fromStoredId(Buffer.from(stored, "base64url"));
    }
  }
  return event;
}
