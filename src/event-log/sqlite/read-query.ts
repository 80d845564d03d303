/**
 * @module The SQL for reading events after a cursor, narrowed by an
 * EventFilter, on the v3 layout (migrate-v3.ts). Every query selects the
 * columns of a StoredEvent (event-row.ts), so one decoder reads them all.
 */
import type { EventFilter } from "../../core/event-log.ts";
import { kindCode } from "../kind-code.ts";
import { toStoredId } from "../stored-id.ts";

/** Past every offset SQLite can store (the largest 64-bit integer). */
const NO_OFFSET = "9223372036854775807";

export interface ReadQuery {
  readonly sql: string;
  /** Parameters in order: the cursor, the filter values, the limit (-1: none). */
  readonly params: unknown[];
  /**
   * Set when the query could not apply the `partitions` filter (a log not yet
   * migrated, read-only): the caller filters the decoded events and applies
   * the limit itself. Never set for the v3 layout.
   */
  readonly partitionsAfterDecoding?: boolean;
}

/** The SqliteStoredEvent columns of the v3 and v4 layouts; the ids come back as stored (stored-id.ts). */
export const SELECT_EVENTS = `SELECT e."offset", e.event_id, b.value, j.value, e.timestamp_delta_ms, e.payload, e.kind
  FROM events e LEFT JOIN ids b ON b.id = e.build_request LEFT JOIN ids j ON j.id = e.job_run`;

/**
 * Builds the query for events with offset > `after` matching `filter`, in
 * offset order, at most `limit` (undefined: all). The SQL text depends only on
 * which filter fields are set and how many kinds and partitions, so
 * statements can be cached by it. Each index ends in the offset (the rowid),
 * so `build_request = ? AND "offset" > ?` is a range scan of one index, and
 * `partitions` is a range scan of the per-partition index for each ref, the
 * offsets found (each once) then read in order by rowid. An empty id ("no
 * job run") is a NULL column. Kinds have no index: they are read as tails
 * after a cursor, where checking the kind of each row costs less than an
 * index entry per event would (see the module doc of sqlite-event-log.ts).
 *
 * `spans` (schema version 4 on, layout-v4.ts): a build request or job run
 * has no index but the span of offsets its events lie in, and the query
 * reads that range of rowids (an id with no span: the whole log; an id never
 * stored: nothing); version 3
 * has an index on each instead.
 */
export function readQuery(
  after: number,
  filter: EventFilter | undefined,
  limit: number | undefined,
  spans = true,
): ReadQuery {
  const where = [`e."offset" > ?`];
  const params: unknown[] = [after];
  // The span of the first id filtered on bounds the scan (one lower bound, so SQLite seeks to the later one).
  let spanned = false;
  const byId = (column: string, id: string) => {
    if (id === "") return where.push(`e.${column} IS NULL`);
    where.push(`e.${column} = (SELECT id FROM ids WHERE value = ?)`);
    const stored = toStoredId(id);
    params.push(stored);
    if (!spans || spanned) return;
    spanned = true;
    // An id never stored has no events at all: the scan starts past every offset (a new build request's
    // fence and cancel checks ask about it before its first event). One stored without a span: the whole log.
    where[0] = `e."offset" > max(?, coalesce((SELECT coalesce(first_offset - 1, 0) FROM ids WHERE value = ?), ${NO_OFFSET}))`;
    params.splice(1, 0, stored);
    where.push(`e."offset" <= coalesce((SELECT last_offset FROM ids WHERE value = ?), ${NO_OFFSET})`);
    params.push(stored);
  };
  if (filter?.buildRequestId !== undefined) byId("build_request", filter.buildRequestId);
  if (filter?.exceptBuildRequestId !== undefined) {
    if (filter.exceptBuildRequestId === "") where.push(`e.build_request IS NOT NULL`);
    else {
      // IS NOT: a row without a build request, or an id never stored, still counts as another's.
      where.push(`e.build_request IS NOT coalesce((SELECT id FROM ids WHERE value = ?), -1)`);
      params.push(toStoredId(filter.exceptBuildRequestId));
    }
  }
  if (filter?.jobRunId !== undefined) byId("job_run", filter.jobRunId);
  if (filter?.kinds !== undefined) {
    // A lean manifest's row, or a deflated payload's, has the negated code (sqlite-row.ts).
    const codes = filter.kinds.map(kindCode).flatMap((code) => [code, -code]);
    where.push(`e.kind IN (${codes.map(() => "?").join(", ")})`);
    params.push(...codes);
  }
  if (filter?.partitions !== undefined) {
    where.push(
      `e."offset" IN (SELECT x."offset" FROM partitions p JOIN partition_events x ON x.partition = p.id
        WHERE p.ref IN (${filter.partitions.map(() => "?").join(", ")}) AND x."offset" > ?)`,
    );
    params.push(...filter.partitions, after);
  }
  params.push(limit === undefined ? -1 : Math.max(0, Math.floor(limit)));
  return { sql: `${SELECT_EVENTS} WHERE ${where.join(" AND ")} ORDER BY e."offset" LIMIT ?`, params };
}
