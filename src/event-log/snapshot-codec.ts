/**
 * @module How a read-model snapshot's state is stored by the backends that
 * keep snapshots beside their events (SQLite, PostgreSQL): V8's structured
 * serialization (it keeps Maps, Sets, bigints and shared references) with a
 * SHA-256 checksum, so a damaged row is recognised and ignored rather than
 * restored.
 */
import { createHash } from "node:crypto";
import { deserialize, serialize } from "node:v8";
import type { ReadModelSnapshot } from "../core/read-model.ts";

/** A snapshot as a row stores it. */
export interface StoredSnapshot {
  readonly version: number;
  readonly offset: number;
  readonly checksum: Buffer;
  readonly state: Buffer;
}

/** The bytes and checksum of a state. Copies it synchronously (the caller may go on changing it). */
export function encodeSnapshotState(state: unknown): { state: Buffer; checksum: Buffer } {
  const bytes = serialize(state);
  return { state: bytes, checksum: createHash("sha256").update(bytes).digest() };
}

/** The snapshot a row holds, or the problem that keeps it from being used. */
export function decodeSnapshot(name: string, row: StoredSnapshot): { snapshot?: ReadModelSnapshot; problem?: string } {
  if (!createHash("sha256").update(row.state).digest().equals(row.checksum))
    return { problem: "its snapshot is damaged (checksum mismatch)" };
  try {
    return { snapshot: { name, version: row.version, offset: row.offset, state: deserialize(row.state) } };
  } catch (error) {
    return { problem: `its snapshot does not decode (${(error as Error).message})` };
  }
}
