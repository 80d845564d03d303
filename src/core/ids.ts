/**
 * @module Ids for events, build requests and job runs: UUIDv7 (RFC 9562),
 * time-ordered so the event log's unique index on event ids grows at one end
 * instead of touching a random page per insert, and sortable by creation.
 * Random bytes are drawn from a pool: one getRandomValues call per id costs
 * more than the rest of making an event.
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const POOL_IDS = 512;
const pool = new Uint8Array(16 * POOL_IDS);
let poolOffset = pool.length;

let lastMs = 0;
let sequence = 0;

/** A new UUIDv7 string. Ids made in the same millisecond still increase. */
export function newId(nowMs = Date.now()): string {
  if (poolOffset === pool.length) {
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += 16;
  if (nowMs <= lastMs) {
    // Same (or earlier) millisecond: keep order with a 12-bit counter in rand_a.
    nowMs = lastMs;
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) nowMs = ++lastMs;
  } else {
    lastMs = nowMs;
    sequence = 0;
  }
  const high = Math.floor(nowMs / 0x1000000);
  const low = nowMs % 0x1000000;
  const h = HEX;
  const p = pool;
  return (
    h[(high >>> 16) & 0xff]! +
    h[(high >>> 8) & 0xff]! +
    h[high & 0xff]! +
    h[(low >>> 16) & 0xff]! +
    "-" +
    h[(low >>> 8) & 0xff]! +
    h[low & 0xff]! +
    "-" +
    h[0x70 | (sequence >> 8)]! +
    h[sequence & 0xff]! +
    "-" +
    h[0x80 | (p[r + 8]! & 0x3f)]! +
    h[p[r + 9]!]! +
    "-" +
    h[p[r + 10]!]! +
    h[p[r + 11]!]! +
    h[p[r + 12]!]! +
    h[p[r + 13]!]! +
    h[p[r + 14]!]! +
    h[p[r + 15]!]!
  );
}
