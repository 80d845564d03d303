/**
 * @module Reading a log of schema version 1 or 2 (one events table with text
 * columns and whole payloads) that has not been migrated yet: only a
 * read-only connection meets one, since opening to write migrates first. A
 * `status` right after upgrading databuild reads the old log this way, until
 * the next build converts it. It has no per-partition index, so `partitions`
 * is checked on the decoded events.
 */
import type { EventFilter } from "../../core/event-log.ts";
import type { ReadQuery } from "./read-query.ts";

/** The StoredEvent columns of the old layout (its payloads hold every envelope field). */
export const SELECT_EVENTS_V2 = `SELECT e."offset", e.event_id, e.build_request_id, e.job_run_id, NULL, e.payload FROM events e`;

/** As `readQuery`, for the old layout. */
export function readQueryV2(after: number, filter: EventFilter | undefined, limit: number | undefined): ReadQuery {
  const where = [`e."offset" > ?`];
  const params: unknown[] = [after];
  if (filter?.buildRequestId !== undefined) {
    where.push("e.build_request_id = ?");
    params.push(filter.buildRequestId);
  }
  if (filter?.exceptBuildRequestId !== undefined) {
    where.push("e.build_request_id != ?");
    params.push(filter.exceptBuildRequestId);
  }
  if (filter?.jobRunId !== undefined) {
    where.push("e.job_run_id = ?");
    params.push(filter.jobRunId);
  }
  if (filter?.kinds !== undefined) {
    where.push(`e.kind IN (${filter.kinds.map(() => "?").join(", ")})`);
    params.push(...filter.kinds);
  }
  const partitionsAfterDecoding = filter?.partitions !== undefined;
  params.push(limit === undefined || partitionsAfterDecoding ? -1 : Math.max(0, Math.floor(limit)));
  return {
    sql: `${SELECT_EVENTS_V2} WHERE ${where.join(" AND ")} ORDER BY e."offset" LIMIT ?`,
    params,
    partitionsAfterDecoding,
  };
}
