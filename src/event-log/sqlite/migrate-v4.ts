/**
 * @module Schema version 4 (layout-v4.ts): id spans instead of two indexes.
 * Runs inside the migrating transaction and rewrites no event (manifests
 * stored before it keep their whole payload and positive kind, and read as
 * before), so it takes a moment even on a long log: one index lookup per
 * interned id to fill the spans, then the indexes are dropped.
 */
import type { Database } from "better-sqlite3";
import { V4_BACKFILL, V4_DROPPED_INDEXES, V4_SPAN_COLUMNS } from "./layout-v4.ts";

/** The migration step: version 3 to version 4. */
export function migrateToV4(db: Database): void {
  db.exec(V4_SPAN_COLUMNS);
  for (const sql of V4_BACKFILL) db.exec(sql);
  db.exec(V4_DROPPED_INDEXES);
}
