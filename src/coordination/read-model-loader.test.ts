import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryEventLog } from "../event-log/memory-event-log.ts";
import { randomHistory } from "../testing/random-history.ts";
import { loadReadModel } from "./read-model-loader.ts";
import { ALL_READ_MODELS as READ_MODELS } from "./read-models.ts";

describe("read models: a snapshot plus the events after it gives what a full replay gives", () => {
  for (const make of READ_MODELS) {
    const name = make().name;
    it(`${name}, over random histories split at a random point`, async () => {
      await fc.assert(
        fc.asyncProperty(randomHistory(), fc.nat(60), async (events, at) => {
          const split = Math.min(at, events.length);
          const log = new MemoryEventLog();
          await log.append(events.slice(0, split));
          await loadReadModel(log, make, { snapshotAfter: 0 });
          await log.append(events.slice(split));
          const fromSnapshot = await loadReadModel(log, make, { snapshotAfter: Infinity });
          const replay = await loadReadModel(log, make, { replay: true, snapshotAfter: Infinity });
          expect(fromSnapshot.model.saveState()).toEqual(replay.model.saveState());
          expect(fromSnapshot.cursor).toBe(replay.cursor);
          // Only the tail was read: the events of the model's kinds after the split.
          const kinds = new Set<string>(make().kinds);
          const tail = events.slice(split).filter((e) => kinds.has(e.event.case ?? "")).length;
          expect(fromSnapshot.tail).toBe(tail);
        }),
        { numRuns: 150 },
      );
    });
  }

  it("ignores a snapshot of another version, with a note, and rebuilds from the log", async () => {
    const log = new MemoryEventLog();
    const make = READ_MODELS[0]!;
    await fc.assert(
      fc.asyncProperty(randomHistory(30), async (events) => {
        await log.append(events);
        const model = make();
        await log.snapshots.save({ name: model.name, version: model.version + 1, offset: 1e9, state: {} });
        const notes: string[] = [];
        const loaded = await loadReadModel(log, make, { note: (n) => notes.push(n), snapshotAfter: Infinity });
        const replay = await loadReadModel(log, make, { replay: true, snapshotAfter: Infinity });
        expect(loaded.model.saveState()).toEqual(replay.model.saveState());
        expect(notes).toEqual([
          expect.stringMatching(/its snapshot is of version \d+, this databuild reads version \d+/),
        ]);
      }),
      { numRuns: 20 },
    );
  });

  it("ignores a snapshot whose state is not the model's, with a note, and rebuilds from the log", async () => {
    const log = new MemoryEventLog();
    const make = READ_MODELS[1]!;
    const model = make();
    await log.snapshots.save({ name: model.name, version: model.version, offset: 5, state: { partitions: 3 } });
    const notes: string[] = [];
    const loaded = await loadReadModel(log, make, { note: (n) => notes.push(n) });
    expect(loaded.cursor).toBe(0);
    expect(notes).toEqual([expect.stringContaining("rebuilding it from the log")]);
  });
});
