/**
 * @module Ids for events, build requests and job runs: UUIDv7 (RFC 9562),
 * time-ordered so the event log's unique index on event ids grows at one end
 * instead of touching a random page per insert, and sortable by creation.
 */

let lastMs = 0;
let sequence = 0;

/** A new UUIDv7 string. Ids made in the same millisecond still increase. */
export function newId(nowMs = Date.now()): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  if (nowMs <= lastMs) {
    // Same (or earlier) millisecond: keep order with a 12-bit counter in rand_a.
    nowMs = lastMs;
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) nowMs = ++lastMs;
  } else {
    lastMs = nowMs;
    sequence = 0;
  }
  let ms = nowMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
