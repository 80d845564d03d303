// The read-model property (src/coordination/read-model-loader.test.ts) on a
// PostgreSQL log: a snapshot in the database plus the events after it gives
// what a full replay gives, and so does a reindex.
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_READ_MODELS, loadReadModel, READ_MODELS, reindex } from "../../coordination/index.ts";
import { freshDatabase, type FreshDatabase } from "../../testing/fresh-database.ts";
import { randomHistory } from "../../testing/random-history.ts";
import { openPostgresEventLog } from "./open-postgres-event-log.ts";
import type { PostgresEventLog } from "./postgres-event-log.ts";

let db: FreshDatabase;
let log: PostgresEventLog;
let raw: pg.Client;
beforeAll(async () => {
  db = await freshDatabase();
  log = await openPostgresEventLog(db.url);
  raw = new pg.Client({ connectionString: db.url });
  await raw.connect();
});
afterAll(async () => {
  await raw?.end();
  await log?.close();
  await db?.drop();
});

/** Empties the log between runs of a property (cheaper than a database per run). */
async function emptyLog(): Promise<void> {
  await raw.query(`TRUNCATE events, partition_events, snapshots; UPDATE databuild_log SET head = 0`);
}

describe("read models on PostgreSQL: a snapshot plus the events after it gives what a full replay gives", () => {
  for (const make of ALL_READ_MODELS) {
    it(`${make().name}, over random histories split at a random point`, async () => {
      await fc.assert(
        fc.asyncProperty(randomHistory(), fc.nat(60), async (events, at) => {
          await emptyLog();
          const split = Math.min(at, events.length);
          await log.append(events.slice(0, split));
          await loadReadModel(log, make, { snapshotAfter: 0 });
          await log.append(events.slice(split));
          const fromSnapshot = await loadReadModel(log, make, { snapshotAfter: Infinity });
          const replay = await loadReadModel(log, make, { replay: true, snapshotAfter: Infinity });
          expect(fromSnapshot.model.saveState()).toEqual(replay.model.saveState());
          expect(fromSnapshot.cursor).toBe(replay.cursor);
          const kinds = new Set<string>(make().kinds);
          expect(fromSnapshot.tail).toBe(events.slice(split).filter((e) => kinds.has(e.event.case ?? "")).length);
        }),
        { numRuns: 25 },
      );
    });
  }

  it("reindex rebuilds the snapshotted models from the log, as a replay does", async () => {
    await emptyLog();
    const [history] = fc.sample(randomHistory(), { numRuns: 1, seed: 11 });
    await log.append(history!);
    const rebuilt = await reindex(log);
    expect(rebuilt.map((r) => r.name)).toEqual(READ_MODELS.map((make) => make().name));
    for (const make of READ_MODELS) {
      const loaded = await loadReadModel(log, make, { snapshotAfter: Infinity });
      const replay = await loadReadModel(log, make, { replay: true, snapshotAfter: Infinity });
      expect(loaded.model.saveState()).toEqual(replay.model.saveState());
      expect(loaded.tail).toBe(0);
    }
  });
});
