/**
 * @module The SQL for reading events after a cursor, narrowed by an
 * EventFilter.
 */
import type { EventFilter } from "../../core/event-log.ts";

export interface ReadQuery {
  readonly sql: string;
  /** Parameters in order: the cursor, the filter values, the limit (-1: none). */
  readonly params: (string | number)[];
}

/**
 * Builds the query for events with offset > `after` matching `filter`, in
 * offset order, at most `limit` (undefined: all). The SQL text depends only on
 * which filter fields are set and how many kinds, so statements can be cached
 * by it. Each secondary index also holds the rowid, so `build_request_id = ?
 * AND "offset" > ?` is a range scan of one index.
 */
export function readQuery(after: number, filter: EventFilter | undefined, limit: number | undefined): ReadQuery {
  const where = [`"offset" > ?`];
  const params: (string | number)[] = [after];
  if (filter?.buildRequestId !== undefined) {
    where.push("build_request_id = ?");
    params.push(filter.buildRequestId);
  }
  if (filter?.jobRunId !== undefined) {
    where.push("job_run_id = ?");
    params.push(filter.jobRunId);
  }
  if (filter?.kinds !== undefined) {
    where.push(`kind IN (${filter.kinds.map(() => "?").join(", ")})`);
    params.push(...filter.kinds);
  }
  params.push(limit === undefined ? -1 : Math.max(0, Math.floor(limit)));
  return {
    sql: `SELECT "offset", payload FROM events WHERE ${where.join(" AND ")} ORDER BY "offset" LIMIT ?`,
    params,
  };
}
