/**
 * @module How a read-model snapshot's state is stored by the backends that
 * keep snapshots beside their events (SQLite, PostgreSQL): V8's structured
 * serialization (it keeps Maps, Sets, bigints and shared references) with a
 * SHA-256 checksum of the stored bytes, so a damaged row is recognised and
 * ignored rather than restored.
 *
 * A property of a plain-object state that is frozen is immutable by
 * contract (the partition catalog freezes the state it saves): it is stored
 * as a part of its own, serialized and deflated (zlib, level 1) apart from
 * the rest, and those stored bytes are remembered and reused while the same
 * object is saved again. A part restored from a snapshot comes back frozen,
 * its stored bytes remembered, so a model that keeps it as it is (the
 * catalog, while nothing changed it) saves it again without encoding it, in
 * the next process too. After no-op builds the shared view's snapshot thus
 * re-deflates only its small claims and builds, not the 4.5 MB catalog of W
 * at N = 10,000 (~70 ms each time; 1.2 MB deflated). Such a state is stored
 * as a 0x50 byte and the serialized list of its parts; the rest keeps its
 * shared references, but an object a frozen part shares with the rest comes
 * back as a copy.
 *
 * Older forms still restore: a state stored whole and deflated (starts with
 * zlib's header byte 0x78), and one stored as V8's serialization (0xFF).
 */
import { createHash } from "node:crypto";
import { deserialize, serialize } from "node:v8";
import { deflateSync, inflateSync } from "node:zlib";
import type { ReadModelSnapshot } from "../core/read-model.ts";

/** A snapshot as a row stores it. */
export interface StoredSnapshot {
  readonly version: number;
  readonly offset: number;
  readonly checksum: Buffer;
  readonly state: Buffer;
}

/** zlib's first byte for its default window (CMF 0x78); V8's serialization starts with 0xFF. */
const ZLIB_HEADER = 0x78;
/** The first byte of a state stored in parts. */
const PARTS_HEADER = 0x50;

/** The stored bytes of frozen parts, by the part itself. */
const frozenParts = new WeakMap<object, Buffer>();

/** The bytes and checksum of a state. Copies it synchronously (the caller may go on changing it). */
export function encodeSnapshotState(state: unknown): { state: Buffer; checksum: Buffer } {
  const frozen = isPlainObject(state) ? Object.entries(state).filter(([, part]) => isFrozenObject(part)) : [];
  let bytes: Buffer;
  if (frozen.length === 0) bytes = deflated(state);
  else {
    const rest = { ...(state as Record<string, unknown>) };
    for (const [name] of frozen) delete rest[name];
    const parts = frozen.map(([name, part]) => [name, frozenBytes(part as object)] as const);
    bytes = Buffer.concat([Buffer.of(PARTS_HEADER), serialize({ rest: deflated(rest), parts })]);
  }
  return { state: bytes, checksum: createHash("sha256").update(bytes).digest() };
}

/** The snapshot a row holds, or the problem that keeps it from being used. */
export function decodeSnapshot(name: string, row: StoredSnapshot): { snapshot?: ReadModelSnapshot; problem?: string } {
  if (!createHash("sha256").update(row.state).digest().equals(row.checksum))
    return { problem: "its snapshot is damaged (checksum mismatch)" };
  try {
    return { snapshot: { name, version: row.version, offset: row.offset, state: decodeState(row.state) } };
  } catch (error) {
    return { problem: `its snapshot does not decode (${(error as Error).message})` };
  }
}

function decodeState(stored: Buffer): unknown {
  if (stored[0] === ZLIB_HEADER) return deserialize(inflateSync(stored));
  if (stored[0] !== PARTS_HEADER) return deserialize(stored);
  const { rest, parts } = deserialize(stored.subarray(1)) as { rest: Uint8Array; parts: [string, Uint8Array][] };
  if (!Array.isArray(parts)) throw new Error("its list of parts is not a list");
  const state = deserialize(inflateSync(rest)) as Record<string, unknown>;
  for (const [name, bytes] of parts) {
    // Frozen again, with the bytes it came from: a model that keeps it as it is saves it again for free.
    const part = Object.freeze(deserialize(inflateSync(bytes)) as object);
    frozenParts.set(part, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    state[name] = part;
  }
  return state;
}

function frozenBytes(part: object): Buffer {
  let bytes = frozenParts.get(part);
  if (!bytes) frozenParts.set(part, (bytes = deflated(part)));
  return bytes;
}

function deflated(value: unknown): Buffer {
  return deflateSync(serialize(value), { level: 1 });
}

function isFrozenObject(value: unknown): value is object {
  return typeof value === "object" && value !== null && Object.isFrozen(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
