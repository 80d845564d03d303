/**
 * @module Schema version 3: the compact layout (interned ids, integer kinds,
 * payloads without the envelope fields that have columns) and the
 * per-partition index. Runs inside the migrating transaction: it converts a
 * version 2 log's rows in place of the old table, keeping every offset, and
 * fills the index for them, so a crash midway leaves the log as it was.
 */
import { fromBinary } from "@bufbuild/protobuf";
import type { Database } from "better-sqlite3";
import type { EventCase } from "../../core/build-event.ts";
import { BuildEventSchema } from "../../gen/databuild_pb.ts";
import { EventInserter } from "./event-inserter.ts";
import { V3_INDEXES, V3_TABLES } from "./layout-v3.ts";
import { partitionsOf, type EventRow } from "../event-row.ts";
import { kindCode } from "../kind-code.ts";
import { splitEnvelope, type SplitEnvelope } from "./split-envelope.ts";
import { idTimeMs, toStoredId } from "../stored-id.ts";

/** Rows converted per read of the old table (better-sqlite3 runs no other statement while one iterates). */
const CHUNK = 2000;

/**
 * The kinds whose events `partitionRefsOf` (src/core/partition-refs.ts) finds
 * refs in. Only rows of these kinds are decoded to fill the index; the rest
 * are converted without decoding. (migrate-v3.test.ts checks this
 * list against partitionRefsOf.)
 */
export const KINDS_WITH_PARTITIONS: ReadonlySet<EventCase> = new Set<EventCase>([
  "partitionStatusChanged",
  "partitionManifest",
  "partitionDelegated",
  "partitionsClaimed",
  "partitionsReleased",
]);

type OldRow = [
  offset: number,
  eventId: string,
  buildRequestId: string,
  jobRunId: string,
  kind: string | null,
  payload: Buffer,
];

/** The migration step: version 2 (or an empty version 1 + 2 log) to version 3. */
export function migrateToV3(db: Database): void {
  db.exec(`
    ALTER TABLE events RENAME TO events_v2;
    DROP INDEX events_build_request_id;
    DROP INDEX events_job_run_id;
    DROP INDEX events_kind;
  `);
  db.exec(V3_TABLES);
  const inserter = new EventInserter(db, false);
  const page = db
    .prepare(
      `SELECT "offset", event_id, build_request_id, job_run_id, kind, payload FROM events_v2
       WHERE "offset" > ? ORDER BY "offset" LIMIT ${CHUNK}`,
    )
    .raw();
  for (let after = 0; ;) {
    const rows = page.all(after) as OldRow[];
    for (const row of rows) inserter.insertAt(row[0], convert(row));
    if (rows.length < CHUNK) break;
    after = rows[rows.length - 1]![0];
  }
  db.exec(V3_INDEXES);
  // AUTOINCREMENT's counter (sqlite_sequence) carries over: no offset is ever handed out twice.
  const old = db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'events_v2'`).pluck().get() as
    number | undefined;
  db.exec(`DROP TABLE events_v2`);
  if (old !== undefined) db.prepare(`UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'events'`).run(old);
}

/**
 * The v3 row of a v2 row, as toEventRow would make it of the decoded event.
 * A row whose payload does not split, or disagrees with its columns, is
 * copied as it is (its whole payload, ids from its columns), and so reads as
 * it did; one that does not decode also gets no index entries, and reading it
 * fails as before while the rest of the log migrates.
 */
function convert([, eventId, buildRequestId, jobRunId, kind, payload]: OldRow): EventRow {
  const code = codeOf(kind);
  const asItIs = (partitions: readonly string[]): EventRow => ({
    eventId: toStoredId(eventId),
    buildRequestId,
    jobRunId,
    kind: code,
    time: null,
    payload,
    partitions,
  });
  let partitions: readonly string[] = [];
  let split: SplitEnvelope;
  try {
    // Decoded without upcastEvent: rows keep what was written; translation happens on reading.
    if (kind !== null && KINDS_WITH_PARTITIONS.has(kind as EventCase)) {
      partitions = partitionsOf(fromBinary(BuildEventSchema, payload));
    }
    split = splitEnvelope(payload);
  } catch {
    return asItIs(partitions);
  }
  if (split.eventId !== eventId || split.buildRequestId !== buildRequestId || split.jobRunId !== jobRunId) {
    return asItIs(partitions);
  }
  const stored = toStoredId(eventId);
  return {
    eventId: stored,
    buildRequestId,
    jobRunId,
    kind: code,
    time: split.timestampMs === undefined ? null : split.timestampMs - idTimeMs(stored),
    payload: split.rest,
    partitions,
  };
}

/** The code of a v2 kind column (`event.case` when it was written); null for one this databuild does not know. */
function codeOf(kind: string | null): number | null {
  if (kind === null) return null;
  try {
    return kindCode(kind as EventCase);
  } catch {
    return null;
  }
}
