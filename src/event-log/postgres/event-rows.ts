/**
 * @module Events as rows of the `events` table and back: the columns of
 * event-row.ts (shared with SQLite's layout), with ids as bytes
 * (id-bytes.ts). Rows are written in batches as one array per column
 * (`unnest`), so a batch of any size is one statement.
 */
import type { LoggedEvent } from "../../core/event-log.ts";
import { EventLogFileError } from "../event-log-error.ts";
import { fromStoredEvent, type EventRow } from "../event-row.ts";
import { idBytes, storedIdBytes, storedIdOf } from "./id-bytes.ts";

/** A row as SELECT_EVENTS returns it (rowMode "array"). */
export type EventColumns = [
  offset: number,
  eventId: Buffer,
  buildRequest: Buffer | null,
  jobRun: Buffer | null,
  timeDeltaMs: number | null,
  payload: Buffer,
];

/** Decodes a row. Throws EventLogFileError ("corrupt") for bytes that are not an event. */
export function toLoggedEvent(row: EventColumns, location: string): LoggedEvent {
  const [offset, eventId, buildRequest, jobRun, time, payload] = row;
  try {
    const event = fromStoredEvent([
      offset,
      storedIdOf(eventId),
      buildRequest && storedIdOf(buildRequest),
      jobRun && storedIdOf(jobRun),
      time,
      payload,
    ]);
    return { offset, event };
  } catch (error) {
    throw new EventLogFileError(location, "corrupt", `the event at offset ${offset} does not decode`, {
      cause: error,
      advice: "Restore the database from a backup.",
    });
  }
}

/** The channel a commit notifies (the new head as payload): a wake-up hint for watches, nothing more. */
export const APPENDED_CHANNEL = "databuild_events";

/**
 * The statement that stores a batch after the head, as one step. It looks
 * up which of the batch's event ids are stored already (relayed events,
 * which keep their offsets), moves the head on by the number of new ones
 * (`UPDATE ... RETURNING`, which locks the one row of `databuild_log`,
 * waiting while another transaction holds it, and reads the head as the
 * holder left it), and inserts the new events at the offsets after the old
 * head, with their index entries. Parameters: one array per column (ids
 * distinct), then the index entries as (ref, position of the event in the
 * batch, from 1). Returns the old head, the number of events stored, the
 * time the statement waited for the lock (ms), and every event's offset, in
 * batch order. With `notify`,
 * it also queues a notification, which the server sends when (and only if)
 * the transaction commits.
 *
 * The look-up reads the statement's snapshot, taken before any wait for
 * the lock: under a lock the caller already holds it is complete, but on
 * its own an event stored by the previous holder is missed, and its insert
 * then fails the statement (unique_violation) before anything is stored.
 */
export function appendStatement(notify: boolean): string {
  const notice = notify ? `, pg_notify('${APPENDED_CHANNEL}', (h.base + (SELECT count(*) FROM fresh))::text)` : "";
  return `WITH input AS (
    SELECT u.*, (SELECT e."offset" FROM events e WHERE e.event_id = u.id) AS known
    FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::smallint[], $5::bigint[], $6::bytea[])
      WITH ORDINALITY AS u(id, br, jr, k, t, p, i)
  ), fresh AS (
    SELECT input.*, row_number() OVER (ORDER BY i) AS r FROM input WHERE known IS NULL
  ), h AS (
    UPDATE databuild_log SET head = head + (SELECT count(*) FROM fresh)
    RETURNING head - (SELECT count(*) FROM fresh) AS base
  ), stored AS (
    INSERT INTO events ("offset", event_id, build_request, job_run, kind, time_delta_ms, payload)
    SELECT h.base + f.r, f.id, f.br, f.jr, f.k, f.t, f.p FROM h, fresh f
  ), indexed AS (
    INSERT INTO partition_events (ref, "offset")
    SELECT x.ref, h.base + f.r FROM h, unnest($7::text[], $8::bigint[]) AS x(ref, i) JOIN fresh f ON f.i = x.i
  )
  SELECT h.base, (SELECT count(*) FROM fresh), 1000 * extract(epoch FROM clock_timestamp() - statement_timestamp())::float8,
    (SELECT array_agg(coalesce(input.known, h.base + f.r) ORDER BY input.i) FROM input LEFT JOIN fresh f ON f.i = input.i)${notice}
  FROM h`;
}

/** The parameters of `appendStatement` for `rows` (distinct event ids), in this order. */
export function appendValues(rows: readonly EventRow[]): unknown[] {
  const columns: unknown[][] = [[], [], [], [], [], [], [], []];
  rows.forEach((row, i) => {
    columns[0]!.push(storedIdBytes(row.eventId));
    columns[1]!.push(row.buildRequestId === "" ? null : idBytes(row.buildRequestId));
    columns[2]!.push(row.jobRunId === "" ? null : idBytes(row.jobRunId));
    columns[3]!.push(row.kind);
    columns[4]!.push(row.time);
    columns[5]!.push(row.payload);
    for (const ref of row.partitions) {
      columns[6]!.push(ref);
      columns[7]!.push(i + 1);
    }
  });
  return columns;
}
