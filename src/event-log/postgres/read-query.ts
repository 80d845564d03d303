/**
 * @module The SQL for reading events after a cursor, narrowed by an
 * EventFilter. Every query selects the same columns (SELECT_EVENTS), read
 * back by event-rows.ts.
 */
import type { EventFilter } from "../../core/event-log.ts";
import { kindCode } from "../kind-code.ts";
import { idBytes } from "./id-bytes.ts";

export interface ReadQuery {
  readonly text: string;
  readonly values: unknown[];
}

/** offset, event_id, build_request, job_run, time_delta_ms, payload. */
export const SELECT_EVENTS = `SELECT "offset", event_id, build_request, job_run, time_delta_ms, payload FROM events`;

/**
 * The query for events with offset > `after` matching `filter`, in offset
 * order, at most `limit` (undefined: all). The text depends only on which
 * filter fields are set, so the server can reuse its plans. An empty id ("no
 * job run") is a NULL column. `partitions` is a range scan of the
 * per-partition index for each ref, the offsets found then read by the
 * primary key; kinds have no index (reads by kind are tails after a cursor).
 */
export function readQuery(after: number, filter: EventFilter | undefined, limit: number | undefined): ReadQuery {
  const values: unknown[] = [after];
  const param = (value: unknown) => `$${values.push(value)}`;
  const where = [`"offset" > $1`];
  const byId = (column: string, id: string) =>
    where.push(id === "" ? `${column} IS NULL` : `${column} = ${param(idBytes(id))}`);
  if (filter?.buildRequestId !== undefined) byId("build_request", filter.buildRequestId);
  if (filter?.exceptBuildRequestId !== undefined) {
    const id = filter.exceptBuildRequestId;
    // IS DISTINCT FROM: a row without a build request still counts as another's.
    where.push(id === "" ? `build_request IS NOT NULL` : `build_request IS DISTINCT FROM ${param(idBytes(id))}`);
  }
  if (filter?.jobRunId !== undefined) byId("job_run", filter.jobRunId);
  if (filter?.kinds !== undefined) where.push(`kind = ANY(${param(filter.kinds.map(kindCode))}::smallint[])`);
  if (filter?.partitions !== undefined) {
    where.push(
      `"offset" IN (SELECT "offset" FROM partition_events WHERE ref = ANY(${param([...filter.partitions])}::text[]) AND "offset" > $1)`,
    );
  }
  const cap = limit === undefined ? "" : ` LIMIT ${param(Math.max(0, Math.floor(limit)))}`;
  return { text: `${SELECT_EVENTS} WHERE ${where.join(" AND ")} ORDER BY "offset"${cap}`, values };
}
