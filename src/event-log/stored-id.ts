/**
 * @module How an id string (an event id, a build request id, a job run id) is
 * stored: a canonical UUID, as every id databuild makes is (src/core/ids.ts),
 * as its 16 bytes instead of 36 characters; anything else as the text itself.
 * Only the lowercase hyphenated form is packed, so reading back gives the
 * very string that was stored, and a UUID written in capitals stays text
 * (and so a different key, as it is a different string).
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A value as stored in an ANY column: 16 bytes for a canonical UUID, else the text. */
export type StoredId = Buffer | string;

/** The stored form of `id`. (One pass over the characters: this runs for every id of every event appended.) */
export function toStoredId(id: string): StoredId {
  if (id.length !== 36) return id;
  const bytes = Buffer.allocUnsafe(16);
  for (let i = 0, j = 0; i < 36;) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (id.charCodeAt(i++) !== 0x2d) return id; // "-"
      continue;
    }
    const high = hexDigit(id.charCodeAt(i));
    const low = hexDigit(id.charCodeAt(i + 1));
    if (high < 0 || low < 0) return id;
    bytes[j++] = (high << 4) | low;
    i += 2;
  }
  return bytes;
}

/** The id string a stored value stands for (the inverse of `toStoredId`). */
export function fromStoredId(stored: StoredId): string {
  if (typeof stored === "string") return stored;
  if (stored.length !== 16) throw new Error(`a stored id of ${stored.length} bytes (16 expected)`);
  let text = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text += "-";
    text += HEX[stored[i]!]!;
  }
  return text;
}

/**
 * The millisecond time in the first 48 bits of a stored UUID (a UUIDv7's
 * creation time), 0 for a text id. An event's timestamp is stored as its
 * difference from this, which is 0 for events made by newEvent: no bytes.
 */
export function idTimeMs(stored: StoredId): number {
  return typeof stored === "string" ? 0 : stored.readUIntBE(0, 6);
}

/** The value of a lowercase hex digit's character code, -1 for any other character. */
function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}
