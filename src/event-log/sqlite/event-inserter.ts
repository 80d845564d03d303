/**
 * @module Writing rows of the v3 layout: an event, its interned ids, and its
 * entries in the per-partition index, all in the caller's transaction, so
 * the index never lags behind or runs ahead of the events it points to.
 */
import type { Database, Statement } from "better-sqlite3";
import type { EventRow } from "../event-row.ts";
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

  constructor(db: Database) {
    this.ids = new Interner(db, "ids", "value", toStoredId);
    this.partitions = new Interner(db, "partitions", "ref");
    this.insert = db.prepare(
      `INSERT INTO events ("offset", event_id, build_request, job_run, kind, timestamp_delta_ms, payload)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.storedOffset = db.prepare(FIND_BY_ID).pluck();
    this.indexEntry = db.prepare(`INSERT INTO partition_events (partition, "offset") VALUES (?, ?)`);
  }

  /**
   * Stores `row` and returns its offset; when its event id is stored already
   * (a relayed event), stores nothing and returns that event's offset.
   */
  append(row: EventRow): number {
    const stored = this.storedOffset.get({ id: row.eventId }) as number | undefined;
    return stored ?? this.insertAt(null, row);
  }

  /** Stores `row` at `offset` (null: the next one) and returns the offset. The caller ensures its event id is new. */
  insertAt(offset: number | null, row: EventRow): number {
    const buildRequest = this.idOf(row.buildRequestId);
    const jobRun = this.idOf(row.jobRunId);
    const result = this.insert.run(offset, row.eventId, buildRequest, jobRun, row.kind, row.time, row.payload);
    const at = Number(result.lastInsertRowid);
    for (const ref of row.partitions) this.indexEntry.run(this.partitions.idOf(ref), at);
    return at;
  }

  /** The transaction committed: interned ids it added may be remembered. */
  committed(): void {
    this.ids.committed();
    this.partitions.committed();
  }

  /** The transaction rolled back: forget the ids it added. */
  rolledBack(): void {
    this.ids.rolledBack();
    this.partitions.rolledBack();
  }

  private idOf(text: string): number | null {
    return text === "" ? null : this.ids.idOf(text);
  }
}
