/**
 * @module Writing rows of the v3/v4 layout: an event, its interned ids, and
 * its entries in the per-partition index, all in the caller's transaction,
 * so the index never lags behind or runs ahead of the events it points to.
 * From version 4 on it also widens the span of offsets of each id it wrote
 * (layout-v4.ts), once per id and transaction (`finish`).
 */
import type { Database, Statement } from "better-sqlite3";
import type { SqliteEventRow } from "./sqlite-row.ts";
import { Interner } from "./interner.ts";
import { EVENT_KEY } from "./layout-v3.ts";
import { toStoredId } from "../stored-id.ts";

/** The offset of the event whose stored id is @id: a seek in the events_event_key index, then whole ids compared. */
export const FIND_BY_ID = `SELECT "offset" FROM events
  WHERE (${EVENT_KEY}) = (${EVENT_KEY.replaceAll("event_id", "@id")}) AND event_id = @id`;

/** Inserts event rows on one write connection. Every method runs inside the caller's write transaction. */
export class EventInserter {
  private readonly ids: Interner;
  private readonly partitions: Interner;
  private readonly insert: Statement;
  private readonly storedOffset: Statement;
  private readonly indexEntry: Statement;
  private readonly widenSpan: Statement | undefined;
  /** The ids this transaction wrote events of, and the lowest and highest offset of those events. */
  private readonly spans = new Map<number, [first: number, last: number]>();

  /** `spans`: keep the ids' spans (schema version 4 on; the v3 migration writes without). */
  constructor(db: Database, spans = true) {
    this.ids = new Interner(db, "ids", "value", toStoredId);
    this.partitions = new Interner(db, "partitions", "ref");
    this.insert = db.prepare(
      `INSERT INTO events ("offset", event_id, build_request, job_run, kind, timestamp_delta_ms, payload)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.storedOffset = db.prepare(FIND_BY_ID).pluck();
    this.indexEntry = db.prepare(`INSERT INTO partition_events (partition, "offset") VALUES (?, ?)`);
    // One statement per transaction for every id it wrote: a JSON array of [id, first, last].
    this.widenSpan = spans
      ? db.prepare(
          `UPDATE ids SET
             first_offset = CASE WHEN first_offset IS NULL OR first_offset > s.first THEN s.first ELSE first_offset END,
             last_offset = CASE WHEN last_offset IS NULL OR last_offset < s.last THEN s.last ELSE last_offset END
           FROM (SELECT value ->> 0 AS id, value ->> 1 AS first, value ->> 2 AS last FROM json_each(?)) AS s
           WHERE ids.id = s.id`,
        )
      : undefined;
  }

  /**
   * Stores `row` and returns its offset; when its event id is stored already
   * (a relayed event), stores nothing and returns that event's offset.
   */
  append(row: SqliteEventRow): number {
    const stored = this.storedOffset.get({ id: row.eventId }) as number | undefined;
    return stored ?? this.insertAt(null, row);
  }

  /** Stores `row` at `offset` (null: the next one) and returns the offset. The caller ensures its event id is new. */
  insertAt(offset: number | null, row: SqliteEventRow): number {
    const buildRequest = this.idOf(row.buildRequestId);
    const jobRun = this.idOf(row.jobRunId);
    const payload = row.leanManifest ? row.leanManifest(this.internRun) : row.payload;
    const result = this.insert.run(offset, row.eventId, buildRequest, jobRun, row.kind, row.time, payload);
    const at = Number(result.lastInsertRowid);
    for (const ref of row.partitions) this.indexEntry.run(this.partitions.idOf(ref), at);
    if (this.widenSpan) {
      if (buildRequest !== null) this.noteSpan(buildRequest, at);
      if (jobRun !== null) this.noteSpan(jobRun, at);
    }
    return at;
  }

  /** Writes the spans this transaction widened. Call last in the transaction, after every insert. */
  finish(): void {
    if (this.widenSpan && this.spans.size > 0) {
      let json = "[";
      for (const [id, [first, last]] of this.spans) json += `${json.length > 1 ? "," : ""}[${id},${first},${last}]`;
      this.widenSpan.run(json + "]");
    }
    this.spans.clear();
  }

  /** The transaction committed: interned ids it added may be remembered. */
  committed(): void {
    this.spans.clear();
    this.ids.committed();
    this.partitions.committed();
  }

  /** The transaction rolled back: forget the ids it added. */
  rolledBack(): void {
    this.spans.clear();
    this.ids.rolledBack();
    this.partitions.rolledBack();
  }

  private noteSpan(id: number, at: number): void {
    const span = this.spans.get(id);
    if (span === undefined) this.spans.set(id, [at, at]);
    else if (at > span[1]) span[1] = at;
    else if (at < span[0]) span[0] = at;
  }

  /** A lean manifest's input job run, as its number in `ids` (added when new: no event of it is stored). */
  private readonly internRun = (jobRunId: string): number => this.ids.idOf(jobRunId);

  private idOf(text: string): number | null {
    return text === "" ? null : this.ids.idOf(text);
  }
}
