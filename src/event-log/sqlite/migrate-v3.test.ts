import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { partitionRefsOf } from "../../core/partition-refs.ts";
import { BuildEventSchema, type BuildEvent } from "../../gen/databuild_pb.ts";
import { randomHistory } from "../../testing/random-history.ts";
import { EventLogFileError } from "../event-log-error.ts";
import { sampleEvents } from "../sample-events.ts";
import { toEventRow } from "../event-row.ts";
import { KINDS_WITH_PARTITIONS } from "./migrate-v3.ts";
import { openSqliteEventLog } from "./open-sqlite-event-log.ts";
import { applyMigrations, MIGRATIONS } from "./schema.ts";
import { splitEnvelope } from "./split-envelope.ts";

/** Events of every shape the tests have: samples (nanosecond timestamps inside), odd envelopes. */
function oddEvents(): BuildEvent[] {
  const [a, b, c, d] = sampleEvents(4, { buildRequestId: "br", jobRunId: "run" });
  a!.timestamp = { ...a!.timestamp!, nanos: 5 };
  b!.timestamp = undefined;
  c!.eventId = "not a uuid";
  d!.buildRequestId = "";
  return [a!, b!, c!, d!, ...sampleEvents(16)];
}

describe("the v3 migration's conversion", () => {
  it("KINDS_WITH_PARTITIONS names every kind partitionRefsOf finds refs in", () => {
    const check = (events: readonly BuildEvent[]) => {
      for (const e of events) {
        if (partitionRefsOf(e).length > 0) expect(KINDS_WITH_PARTITIONS.has(e.event.case!), e.event.case).toBe(true);
      }
    };
    check(oddEvents());
    fc.assert(
      fc.property(randomHistory(40), (history) => check(history)),
      { numRuns: 100 },
    );
  });

  it("splitEnvelope cuts out of the encoded event exactly what toEventRow clears before encoding", () => {
    const check = (events: readonly BuildEvent[]) => {
      for (const e of events) {
        const split = splitEnvelope(Buffer.from(toBinary(BuildEventSchema, e)));
        const row = toEventRow(e);
        expect(split.rest.equals(row.payload)).toBe(true);
        expect([split.eventId, split.buildRequestId, split.jobRunId]).toEqual([
          e.eventId,
          e.buildRequestId,
          e.jobRunId,
        ]);
        expect(split.timestampMs).toBe(row.time === null ? undefined : timestampMs(e.timestamp!));
      }
    };
    check(oddEvents());
    fc.assert(
      fc.property(randomHistory(40), (history) => check(history)),
      { numRuns: 50 },
    );
  });
});

describe("migrating a version 2 log", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "databuild-migrate-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A version 2 log with `events` at `offsets`, its AUTOINCREMENT counter at `sequence`, and one damaged row. */
  function v2Log(path: string, events: readonly BuildEvent[], offsets: readonly number[], sequence: number): void {
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.transaction(() => applyMigrations(db, 0, MIGRATIONS.slice(0, 2))).immediate();
    const insert = db.prepare(
      `INSERT INTO events ("offset", event_id, build_request_id, job_run_id, kind, timestamp_ms, payload)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    events.forEach((e, i) =>
      insert.run(
        offsets[i],
        e.eventId,
        e.buildRequestId,
        e.jobRunId,
        e.event.case ?? null,
        e.timestamp ? timestampMs(e.timestamp) : null,
        Buffer.from(toBinary(BuildEventSchema, e)),
      ),
    );
    // A row whose columns disagree with its payload (never written so, but a v2 read believed the payload).
    const odd = { ...events[0]!, eventId: "in-the-payload", buildRequestId: "br-payload" };
    insert.run(4, "in-the-column", "br-column", "", "logEntry", null, Buffer.from(toBinary(BuildEventSchema, odd)));
    // At offset 2: opening checks that the newest event decodes.
    insert.run(2, "damaged-event", "br", "", "logEntry", null, Buffer.from([0xff, 0xff, 0xff]));
    db.prepare(`UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'`).run(sequence);
    db.close();
  }

  it("keeps offsets and the offset counter, indexes the old events, and copies an event that does not decode as it was", async () => {
    const path = join(dir, "events.db");
    const events = oddEvents();
    const offsets = events.map((_, i) => 2 * i + (i < 2 ? 1 : 3));
    v2Log(path, events, offsets, 100);
    const log = await openSqliteEventLog(path);
    try {
      const good = await log.readAt(offsets);
      expect(good.map((l) => l.offset)).toEqual(offsets);
      expect(good.map((l) => l.event)).toEqual(events);
      const error = await log.readAt([2]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventLogFileError);
      expect((error as EventLogFileError).message).toMatch(/offset 2 does not decode/);
      const ref = partitionRefsOf(events.find((e) => partitionRefsOf(e).length > 0)!)[0]!;
      expect((await log.read(0, { partitions: [ref] })).map((l) => l.offset)).toEqual(
        good.filter((l) => partitionRefsOf(l.event).includes(ref)).map((l) => l.offset),
      );
      expect(await log.append(sampleEvents(1, { buildRequestId: "after" }, 50))).toEqual([101]);
      // The damaged row keeps its id: re-appending that id is still a duplicate.
      expect(await log.append([{ ...events[0]!, eventId: "damaged-event" }])).toEqual([2]);
      // The disagreeing row reads as it did, and is found by its column's id as it was.
      expect((await log.readAt([4]))[0]!.event).toMatchObject({
        eventId: "in-the-payload",
        buildRequestId: "br-payload",
      });
      expect(await log.append([{ ...events[0]!, eventId: "in-the-column" }])).toEqual([4]);
    } finally {
      await log.close();
    }
  });
});
