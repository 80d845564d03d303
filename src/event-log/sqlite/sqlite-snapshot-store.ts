/**
 * @module Read-model snapshots in the log's own SQLite file (table
 * `snapshots`, schema version 2). A state is stored as V8's structured
 * serialization (it keeps Maps, Sets, bigints and shared references) with a
 * SHA-256 checksum, so a damaged row is recognised and ignored rather than
 * restored. Each save is one small transaction: a crash (kill -9) leaves the
 * previous snapshot or the new one, never half of either.
 */
import { createHash } from "node:crypto";
import { deserialize, serialize } from "node:v8";
import type { Database } from "better-sqlite3";
import type { ReadModelSnapshot, SnapshotStore } from "../../core/read-model.ts";

type Row = { version: number; offset: number; checksum: Buffer; state: Buffer };

export class SqliteSnapshotStore implements SnapshotStore {
  constructor(
    private readonly db: () => Database,
    private readonly writable: boolean,
    /** Runs a write with the log's checks (the file still the one opened). */
    private readonly writing: <R>(write: () => R) => R,
  ) {}

  async load(name: string): Promise<{ snapshot?: ReadModelSnapshot; problem?: string }> {
    let row: Row | undefined;
    try {
      row = this.db().prepare(`SELECT version, "offset", checksum, state FROM snapshots WHERE name = ?`).get(name) as
        Row | undefined;
    } catch (error) {
      // A log written before snapshots existed (schema version 1), opened read-only: none to load.
      if (/no such table/.test((error as Error).message)) return {};
      throw error;
    }
    if (!row) return {};
    if (!createHash("sha256").update(row.state).digest().equals(row.checksum))
      return { problem: "its snapshot is damaged (checksum mismatch)" };
    try {
      return { snapshot: { name, version: row.version, offset: row.offset, state: deserialize(row.state) } };
    } catch (error) {
      return { problem: `its snapshot does not decode (${(error as Error).message})` };
    }
  }

  async save(snapshot: ReadModelSnapshot): Promise<void> {
    if (!this.writable) return;
    const state = serialize(snapshot.state);
    const checksum = createHash("sha256").update(state).digest();
    this.writing(() =>
      this.db()
        .prepare(
          `INSERT INTO snapshots (name, version, "offset", written_ms, checksum, state) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET version = excluded.version, "offset" = excluded."offset",
             written_ms = excluded.written_ms, checksum = excluded.checksum, state = excluded.state
           WHERE excluded."offset" > snapshots."offset" OR excluded.version != snapshots.version`,
        )
        .run(snapshot.name, snapshot.version, snapshot.offset, Date.now(), checksum, state),
    );
  }

  async clear(): Promise<void> {
    if (!this.writable) throw new Error("the event log was opened read-only: its snapshots cannot be cleared");
    this.writing(() => this.db().prepare(`DELETE FROM snapshots`).run());
  }
}
