import { createHash } from "node:crypto";
import { serialize } from "node:v8";
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeSnapshot, encodeSnapshotState } from "./snapshot-codec.ts";

const state = { catalog: new Map([["raw/1", { at: 3n, refs: new Set(["a", "b"]) }]]), rows: Array(2000).fill("same") };

describe("snapshot states", () => {
  it("are stored deflated, much smaller than their serialization, and restore exactly", () => {
    const stored = encodeSnapshotState(state);
    expect(stored.state[0]).toBe(0x78);
    expect(stored.state.length * 4).toBeLessThan(serialize(state).length);
    expect(decodeSnapshot("m", { version: 1, offset: 9, ...stored }).snapshot).toEqual({
      name: "m",
      version: 1,
      offset: 9,
      state,
    });
  });

  it("keep what each save saw: a frozen part restores as saved, a part changed between saves as changed", () => {
    const catalog = Object.freeze({ refs: new Int32Array([1, 2, 3]), strings: ["a", "b"] });
    const claims = { held: new Map([["raw/1", "br-1"]]) };
    const first = encodeSnapshotState({ catalog, claims });
    // The frozen part stored apart: a 0x50 byte, then the parts.
    expect(first.state[0]).toBe(0x50);
    claims.held.set("raw/2", "br-2");
    const second = encodeSnapshotState({ catalog, claims });
    const restore = (stored: typeof first) => decodeSnapshot("m", { version: 1, offset: 1, ...stored }).snapshot?.state;
    expect(restore(first)).toEqual({ catalog, claims: { held: new Map([["raw/1", "br-1"]]) } });
    expect(restore(second)).toEqual({ catalog, claims });
    expect(encodeSnapshotState({ catalog, claims }).state.equals(second.state)).toBe(true);
  });

  it("restore a frozen part frozen, so a model that keeps it saves the same bytes again (in another process too)", () => {
    const catalog = Object.freeze({ refs: new Int32Array([4, 5]), strings: ["x"] });
    const stored = encodeSnapshotState({ catalog, claims: { n: 1 } });
    const restored = decodeSnapshot("m", { version: 1, offset: 1, ...stored }).snapshot!.state as {
      catalog: typeof catalog;
      claims: { n: number };
    };
    expect(Object.isFrozen(restored.catalog)).toBe(true);
    expect(Object.isFrozen(restored.claims)).toBe(false);
    expect(restored.catalog).not.toBe(catalog);
    // Saved again, it stores what it was stored as.
    expect(encodeSnapshotState({ catalog: restored.catalog, claims: { n: 1 } }).state.equals(stored.state)).toBe(true);
  });

  it("stored whole and deflated by an older databuild still restore", () => {
    const whole = deflateSync(serialize(state), { level: 1 });
    const checksum = createHash("sha256").update(whole).digest();
    expect(decodeSnapshot("m", { version: 1, offset: 9, checksum, state: whole }).snapshot?.state).toEqual(state);
  });

  it("stored whole by an older databuild still restore", () => {
    const whole = serialize(state);
    const checksum = createHash("sha256").update(whole).digest();
    expect(decodeSnapshot("m", { version: 1, offset: 9, checksum, state: whole }).snapshot?.state).toEqual(state);
  });

  it("that are damaged are refused, not restored", () => {
    const stored = encodeSnapshotState(state);
    const damaged = Buffer.from(stored.state);
    damaged[damaged.length - 5]! ^= 0xff;
    expect(decodeSnapshot("m", { version: 1, offset: 9, checksum: stored.checksum, state: damaged })).toEqual({
      problem: "its snapshot is damaged (checksum mismatch)",
    });
  });
});
