import { createHash } from "node:crypto";
import { serialize } from "node:v8";
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
