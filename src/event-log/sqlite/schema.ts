/**
 * @module The SQLite event log's schema: its identity (application_id), its
 * version (user_version) and the migrations that build it.
 */
import type { Database } from "better-sqlite3";
import { migrateToV3 } from "./migrate-v3.ts";
import { migrateToV4 } from "./migrate-v4.ts";

/** `PRAGMA application_id` of a databuild event log: "DBEL" in ASCII. */
export const APPLICATION_ID = 0x4442454c;

/** One schema step; `up` runs inside the migrating transaction. */
export interface Migration {
  /** The `user_version` after this step; steps are numbered 1, 2, 3, ... */
  readonly version: number;
  readonly up: (db: Database) => void;
}

/**
 * Every schema step, oldest first. To change the schema, append a step: never
 * edit a released one, because existing logs have already run it.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: (db) =>
      db.exec(`
        CREATE TABLE events (
          "offset" INTEGER PRIMARY KEY AUTOINCREMENT,
          event_id TEXT NOT NULL UNIQUE,
          build_request_id TEXT NOT NULL,
          job_run_id TEXT NOT NULL,
          kind TEXT,
          timestamp_ms INTEGER,
          payload BLOB NOT NULL
        ) STRICT;
        CREATE INDEX events_build_request_id ON events (build_request_id);
        CREATE INDEX events_job_run_id ON events (job_run_id);
        CREATE INDEX events_kind ON events (kind);
      `),
  },
  {
    // Read-model snapshots (a cache beside the events: src/core/read-model.ts).
    version: 2,
    up: (db) =>
      db.exec(`
        CREATE TABLE snapshots (
          name TEXT PRIMARY KEY,
          version INTEGER NOT NULL,
          "offset" INTEGER NOT NULL,
          written_ms INTEGER NOT NULL,
          checksum BLOB NOT NULL,
          state BLOB NOT NULL
        ) STRICT;
      `),
  },
  {
    // The compact layout and the per-partition index (migrate-v3.ts); converts the rows of version 2.
    version: 3,
    up: migrateToV3,
  },
  {
    // Id spans instead of the build request and job run indexes, lean manifests (layout-v4.ts).
    version: 4,
    up: migrateToV4,
  },
  {
    // Lean manifests name their inputs' job runs by number in `ids` (sqlite-row.ts). Nothing to convert: rows of
    // version 4 read as before; the version only keeps a databuild that reads version 4 from misreading new rows.
    version: 5,
    up: () => {},
  },
];

/** The schema version this code writes and the newest it can read. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings `db` from schema version `from` to the last of `migrations` in the
 * caller's write transaction, then stamps application_id and user_version.
 * A no-op when `from` is already the last version.
 */
export function applyMigrations(db: Database, from: number, migrations: readonly Migration[] = MIGRATIONS): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i} has version ${m.version}; expected ${i + 1}`);
  });
  const to = migrations.length;
  if (from >= to) return;
  for (const m of migrations.slice(from)) m.up(db);
  db.pragma(`application_id = ${APPLICATION_ID}`);
  db.pragma(`user_version = ${to}`);
}
