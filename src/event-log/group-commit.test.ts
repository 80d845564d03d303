import { describe, expect, it } from "vitest";
import { GroupCommit } from "./group-commit.ts";

describe("GroupCommit", () => {
  it("commits everything submitted in one turn as one batch, in submission order", async () => {
    const batches: number[][] = [];
    let next = 0;
    const gc = new GroupCommit<number, number>((items) => {
      batches.push([...items]);
      return items.map(() => ++next);
    }, 100);
    const results = await Promise.all([gc.submit([10, 11]), gc.submit([12]), gc.submit([]), gc.submit([13, 14, 15])]);
    expect(batches).toEqual([[10, 11, 12, 13, 14, 15]]);
    expect(results).toEqual([[1, 2], [3], [], [4, 5, 6]]);
  });

  it("commits at once when a batch is full, never splitting a submission", async () => {
    const batches: number[][] = [];
    const gc = new GroupCommit<number, number>((items) => {
      batches.push([...items]);
      return [...items];
    }, 3);
    const done = Promise.all([gc.submit([1, 2]), gc.submit([3, 4]), gc.submit([5, 6, 7, 8])]);
    expect(batches).toEqual([[1, 2]]); // committed synchronously once 4 >= 3 were queued
    await done;
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
      [5, 6, 7, 8],
    ]);
  });

  it("forms the next batch from what arrives while a commit is in flight", async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gc = new GroupCommit<number, number>(async (items) => {
      batches.push([...items]);
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      return [...items];
    }, 100);
    const first = gc.submit([1]);
    await new Promise((r) => setImmediate(r));
    const later = [gc.submit([2]), gc.submit([3])];
    release();
    await Promise.all([first, ...later]);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it("rejects exactly the callers of a failed batch and carries on", async () => {
    let calls = 0;
    const gc = new GroupCommit<number, number>((items) => {
      if (++calls === 1) throw new Error("disk full");
      return [...items];
    }, 100);
    const a = gc.submit([1]);
    const b = gc.submit([2]);
    await expect(a).rejects.toThrow("disk full");
    await expect(b).rejects.toThrow("disk full");
    await expect(gc.submit([3])).resolves.toEqual([3]);
    await gc.flush();
  });
});
