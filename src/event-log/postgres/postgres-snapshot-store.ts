/**
 * @module Read-model snapshots in the log's database (table `snapshots`),
 * stored as snapshot-codec.ts says (V8 serialization and a checksum). A save
 * is one statement, so a crash leaves the previous snapshot or the new one,
 * and it takes no lock of the log's: snapshots never hold up appends.
 */
import type { ReadModelSnapshot, SnapshotStore } from "../../core/read-model.ts";
import { decodeSnapshot, encodeSnapshotState } from "../snapshot-codec.ts";

/** Runs one statement on the log's pool (errors already turned into the log's errors). */
export type RunStatement = (text: string, values: unknown[], operation: "read" | "append") => Promise<unknown[][]>;

export class PostgresSnapshotStore implements SnapshotStore {
  constructor(
    private readonly run: RunStatement,
    private readonly writable: boolean,
    /** False while a read-only log's database has no tables yet: there is nothing to load. */
    private readonly hasTables: () => Promise<boolean>,
  ) {}

  async load(name: string): Promise<{ snapshot?: ReadModelSnapshot; problem?: string }> {
    if (!(await this.hasTables())) return {};
    const rows = await this.run(
      `SELECT version, "offset", checksum, state FROM snapshots WHERE name = $1`,
      [name],
      "read",
    );
    const row = rows[0] as [number, number, Buffer, Buffer] | undefined;
    if (!row) return {};
    return decodeSnapshot(name, { version: row[0], offset: row[1], checksum: row[2], state: row[3] });
  }

  async save(snapshot: ReadModelSnapshot): Promise<void> {
    if (!this.writable) return;
    const { state, checksum } = encodeSnapshotState(snapshot.state);
    await this.run(
      `INSERT INTO snapshots AS s (name, version, "offset", written_ms, checksum, state) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (name) DO UPDATE SET version = excluded.version, "offset" = excluded."offset",
         written_ms = excluded.written_ms, checksum = excluded.checksum, state = excluded.state
       WHERE excluded."offset" > s."offset" OR excluded.version <> s.version`,
      [snapshot.name, snapshot.version, snapshot.offset, Date.now(), checksum, state],
      "append",
    );
  }

  async clear(): Promise<void> {
    if (!this.writable) throw new Error("the event log was opened read-only: its snapshots cannot be cleared");
    await this.run(`DELETE FROM snapshots`, [], "append");
  }
}
