/**
 * @module Ids (event, build request, job run) as PostgreSQL `bytea`: the
 * stored form of stored-id.ts, which is 16 bytes for a canonical UUID (every
 * id databuild makes) or the text, put in one column type. Only a UUID is
 * stored in exactly 16 bytes: a text of 16 UTF-8 bytes or more is stored
 * after a 0x00 byte, so no text can pass for a UUID and reading back gives
 * the very string that was stored.
 */
import { fromStoredId, toStoredId, type StoredId } from "../stored-id.ts";

const UUID_BYTES = 16;

/** The bytes of `id` ("" has none: NULL). */
export function idBytes(id: string): Buffer {
  return storedIdBytes(toStoredId(id));
}

/** The bytes of an id already in its stored form. */
export function storedIdBytes(stored: StoredId): Buffer {
  if (typeof stored !== "string") return stored;
  const text = Buffer.from(stored, "utf8");
  return text.length < UUID_BYTES ? text : Buffer.concat([Buffer.of(0), text]);
}

/** The stored form (stored-id.ts) of bytes written by `idBytes`. */
export function storedIdOf(bytes: Buffer): StoredId {
  if (bytes.length === UUID_BYTES) return bytes;
  return (bytes.length > UUID_BYTES ? bytes.subarray(1) : bytes).toString("utf8");
}

/** The id string bytes written by `idBytes` stand for. */
export function idOf(bytes: Buffer): string {
  return fromStoredId(storedIdOf(bytes));
}
