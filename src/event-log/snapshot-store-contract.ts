/**
 * @module The shared contract of SnapshotStore (src/core/read-model.ts):
 * every backend's snapshots pass these cases (memory, SQLite).
 */
import { describe, expect, it } from "vitest";
import type { SnapshotStore } from "../core/read-model.ts";

export type OpenSnapshotStore = () => Promise<{ store: SnapshotStore; cleanup?: () => Promise<void> }>;

export function describeSnapshotStoreContract(name: string, open: OpenSnapshotStore): void {
  describe(`SnapshotStore contract: ${name}`, () => {
    const withStore = async (body: (store: SnapshotStore) => Promise<void>) => {
      const { store, cleanup } = await open();
      try {
        await body(store);
      } finally {
        await cleanup?.();
      }
    };

    it("keeps a state of maps, sets, bigints and shared references as it was saved", () =>
      withStore(async (store) => {
        const shared = { id: "lease", n: 18_446_744_073_709_551_615n };
        const state = {
          a: new Map([["x", shared]]),
          b: new Map([["y", shared]]),
          s: new Set(["q"]),
          bytes: new Uint8Array([1, 2]),
        };
        await store.save({ name: "m", version: 3, offset: 10, state });
        shared.id = "changed after save";
        const { snapshot, problem } = await store.load("m");
        expect(problem).toBeUndefined();
        expect(snapshot).toMatchObject({ name: "m", version: 3, offset: 10 });
        const loaded = snapshot!.state as typeof state;
        expect(loaded.a.get("x")).toEqual({ id: "lease", n: 18_446_744_073_709_551_615n });
        expect(loaded.a.get("x")).toBe(loaded.b.get("y"));
        expect(loaded.s).toEqual(new Set(["q"]));
        expect(loaded.bytes).toEqual(new Uint8Array([1, 2]));
      }));

    it("has nothing for a name never saved", () =>
      withStore(async (store) => {
        expect(await store.load("never")).toEqual({});
      }));

    it("keeps the later of two snapshots of one version, and the newer version whatever its offset", () =>
      withStore(async (store) => {
        await store.save({ name: "m", version: 1, offset: 20, state: "twenty" });
        await store.save({ name: "m", version: 1, offset: 10, state: "ten" });
        expect((await store.load("m")).snapshot).toMatchObject({ offset: 20, state: "twenty" });
        await store.save({ name: "m", version: 2, offset: 5, state: "v2" });
        expect((await store.load("m")).snapshot).toMatchObject({ version: 2, offset: 5, state: "v2" });
        await store.save({ name: "other", version: 1, offset: 1, state: "o" });
        expect((await store.load("m")).snapshot?.state).toBe("v2");
      }));

    it("forgets every snapshot on clear", () =>
      withStore(async (store) => {
        await store.save({ name: "m", version: 1, offset: 20, state: "twenty" });
        await store.save({ name: "n", version: 1, offset: 20, state: "twenty" });
        await store.clear();
        expect(await store.load("m")).toEqual({});
        expect(await store.load("n")).toEqual({});
      }));
  });
}
