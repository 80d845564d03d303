/**
 * @module Read-model snapshots in the log's own SQLite file (table
 * `snapshots`, schema version 2), stored as snapshot-codec.ts says (V8
 * serialization and a checksum). Each save is one small transaction: a
 * crash (kill -9) leaves the previous snapshot or the new one, never half of
 * either.
 */
import Database from "better-sqlite3";
import type { ReadModelSnapshot, SnapshotStore } from "../../core/read-model.ts";
import { decodeSnapshot, encodeSnapshotState, type StoredSnapshot } from "../snapshot-codec.ts";

export class SqliteSnapshotStore implements SnapshotStore {
  constructor(
    private readonly db: () => Database.Database,
    private readonly writable: boolean,
    /** Runs a write with the log's checks (the file still the one opened). */
    private readonly writing: <R>(write: () => R) => R,
    /**
     * Read-only logs: the file, for saving snapshots over a short connection
     * of their own when this user may write it. A snapshot is a cache, not
     * the log: without it, every read-only command after a long build or an
     * upgrade (a new read-model version) would replay the whole log again.
     */
    private readonly cacheFile?: string,
  ) {}

  async load(name: string): Promise<{ snapshot?: ReadModelSnapshot; problem?: string }> {
    let row: StoredSnapshot | undefined;
    try {
      row = this.db().prepare(`SELECT version, "offset", checksum, state FROM snapshots WHERE name = ?`).get(name) as
        StoredSnapshot | undefined;
    } catch (error) {
      // A log written before snapshots existed (schema version 1), opened read-only: none to load.
      if (/no such table/.test((error as Error).message)) return {};
      throw error;
    }
    if (!row) return {};
    return decodeSnapshot(name, row);
  }

  async save(snapshot: ReadModelSnapshot): Promise<void> {
    if (!this.writable) return this.saveAsCache(snapshot);
    const { state, checksum } = encodeSnapshotState(snapshot.state);
    this.writing(() => upsert(this.db(), snapshot, checksum, state));
  }

  /** Best effort: a log this user may not write (or a busy one) keeps its old snapshot. */
  private saveAsCache(snapshot: ReadModelSnapshot): void {
    if (this.cacheFile === undefined) return;
    let db: Database.Database | undefined;
    try {
      db = new Database(this.cacheFile, { fileMustExist: true, timeout: 1_000 });
      if (db.pragma("journal_mode", { simple: true }) !== "wal") return;
      db.pragma("synchronous = FULL");
      const { state, checksum } = encodeSnapshotState(snapshot.state);
      upsert(db, snapshot, checksum, state);
    } catch {
      // Read-only file or folder, a schema without the table, a held lock: the next writer snapshots.
    } finally {
      db?.close();
    }
  }

  async clear(): Promise<void> {
    if (!this.writable) throw new Error("the event log was opened read-only: its snapshots cannot be cleared");
    this.writing(() => this.db().prepare(`DELETE FROM snapshots`).run());
  }
}

/** Replaces the snapshot of `snapshot.name` unless the stored one is newer (of the same version). */
function upsert(db: Database.Database, snapshot: ReadModelSnapshot, checksum: Buffer, state: Buffer): void {
  db.prepare(
    `INSERT INTO snapshots (name, version, "offset", written_ms, checksum, state) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET version = excluded.version, "offset" = excluded."offset",
       written_ms = excluded.written_ms, checksum = excluded.checksum, state = excluded.state
     WHERE excluded."offset" > snapshots."offset" OR excluded.version != snapshots.version`,
  ).run(snapshot.name, snapshot.version, snapshot.offset, Date.now(), checksum, state);
}
