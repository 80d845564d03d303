/**
 * @module The PostgreSQL event log's schema: its tables, its identity and
 * version (the one row of `databuild_log`), and the migrations that build it.
 *
 *   databuild_log (application, version, head)   one row: what this database is, its schema
 *                                                version, and the last offset committed
 *   events ("offset", event_id, build_request, job_run, kind, time_delta_ms, payload)
 *   partition_events (ref, "offset")             the per-partition index
 *   snapshots (name, version, "offset", written_ms, checksum, state)
 *
 * The row of `databuild_log` is also the log's lock: every transaction that
 * appends takes it (postgres-event-log.ts), so its `head` is the offset
 * counter, and a migration, which updates `version`, excludes appends while
 * it runs.
 */
import type { PoolClient } from "pg";

/** `databuild_log.application` of a databuild event log. */
export const APPLICATION = "databuild event log";

/** One schema step, run inside the migrating transaction. */
export interface Migration {
  /** The version after this step; steps are numbered 1, 2, 3, ... */
  readonly version: number;
  readonly sql: string;
}

/**
 * Every schema step, oldest first. To change the schema, append a step:
 * never edit a released one, because existing logs have already run it.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE databuild_log (
        application text NOT NULL,
        version integer NOT NULL,
        head bigint NOT NULL
      );
      -- Ids as stored-id.ts stores them (16 bytes for a canonical UUID), as bytes (id-bytes.ts).
      CREATE TABLE events (
        "offset" bigint PRIMARY KEY,
        event_id bytea NOT NULL UNIQUE,
        build_request bytea,
        job_run bytea,
        kind smallint,
        time_delta_ms bigint,
        payload bytea NOT NULL
      );
      -- Each ends in the offset: "build_request = ? AND offset > ?" is one range scan in offset order.
      CREATE INDEX events_build_request ON events (build_request, "offset");
      CREATE INDEX events_job_run ON events (job_run, "offset");
      CREATE TABLE partition_events (
        ref text NOT NULL,
        "offset" bigint NOT NULL,
        PRIMARY KEY (ref, "offset")
      );
      CREATE TABLE snapshots (
        name text PRIMARY KEY,
        version integer NOT NULL,
        "offset" bigint NOT NULL,
        written_ms bigint NOT NULL,
        checksum bytea NOT NULL,
        state bytea NOT NULL
      );
    `,
  },
];

/** The schema version this code writes and the newest it can read. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** What a database holds, as far as the log is concerned. */
export type DatabaseFacts =
  | { readonly kind: "empty" }
  | { readonly kind: "log"; readonly version: number }
  /** Tables of something else, and no `databuild_log` of ours. */
  | { readonly kind: "foreign"; readonly tables: readonly string[]; readonly detail?: string };

/** Looks at the tables of the connection's current schema, without changing anything. */
export async function readFacts(client: PoolClient): Promise<DatabaseFacts> {
  const tables = (
    await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c
       WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       ORDER BY c.relname`,
    )
  ).rows.map((r) => r.name);
  if (tables.length === 0) return { kind: "empty" };
  if (!tables.includes("databuild_log")) return { kind: "foreign", tables };
  let rows: { application: unknown; version: unknown }[];
  try {
    rows = (await client.query(`SELECT application, version FROM databuild_log`)).rows as typeof rows;
  } catch (error) {
    return {
      kind: "foreign",
      tables,
      detail: `its databuild_log table does not read as ours (${(error as Error).message})`,
    };
  }
  if (rows.length !== 1 || rows[0]!.application !== APPLICATION || typeof rows[0]!.version !== "number") {
    return {
      kind: "foreign",
      tables,
      detail: "its databuild_log table does not hold the row of a databuild event log",
    };
  }
  return { kind: "log", version: rows[0]!.version };
}

/**
 * Brings the log from schema version `from` (0: an empty database) to
 * SCHEMA_VERSION in the caller's transaction; a no-op when it is there.
 */
export async function applyMigrations(client: PoolClient, from: number): Promise<void> {
  MIGRATIONS.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i} has version ${m.version}; expected ${i + 1}`);
  });
  if (from >= SCHEMA_VERSION) return;
  for (const m of MIGRATIONS.slice(from)) await client.query(m.sql);
  if (from === 0) {
    await client.query(`INSERT INTO databuild_log (application, version, head) VALUES ($1, $2, 0)`, [
      APPLICATION,
      SCHEMA_VERSION,
    ]);
  } else {
    await client.query(`UPDATE databuild_log SET version = $1`, [SCHEMA_VERSION]);
  }
}
