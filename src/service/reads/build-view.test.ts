// BuildView on a real SQLite log: builds sharing the LiveLog's model each
// see every event after their own cursor as fresh, while the model takes in
// each event once, whoever read it first (a build, a sibling, the watch, an
// atomic append).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PartitionStatus } from "../../gen/databuild_pb.ts";
import { eventPayload } from "../../core/build-event.ts";
import type { EventLog } from "../../core/event-log.ts";
import { newEvent } from "../../core/new-event.ts";
import { SHARED_VIEW_FILTER } from "../../coordination/index.ts";
import { openSqliteEventLog } from "../../event-log/index.ts";
import { LiveLog } from "./index.ts";

let log: EventLog;
let live: LiveLog;

const manifest = (ref: string, buildRequestId = "br-other") =>
  newEvent({ buildRequestId }, eventPayload("partitionManifest", { outputs: [{ str: ref }], buildRequestId }));
const failed = (ref: string, buildRequestId: string) =>
  newEvent(
    { buildRequestId },
    eventPayload("partitionStatusChanged", { partitionRef: { str: ref }, status: PartitionStatus.PARTITION_FAILED }),
  );
const refsOf = (events: readonly { event: { event: { case?: string; value?: unknown } } }[]) =>
  events.flatMap(({ event }) => {
    const e = event.event;
    if (e.case === "partitionManifest") return (e.value as { outputs: { str: string }[] }).outputs.map((o) => o.str);
    if (e.case === "partitionStatusChanged") return [(e.value as { partitionRef: { str: string } }).partitionRef.str];
    return [];
  });

beforeAll(async () => {
  log = await openSqliteEventLog(join(mkdtempSync(join(tmpdir(), "build-view-")), "log.db"), { pollIntervalMs: 10 });
  await log.append([manifest("before/1")]);
  live = await LiveLog.open(log);
});

afterAll(async () => {
  await live.close();
  await log.close();
});

describe("BuildView", () => {
  it("starts at the live model's cursor with its catalog, claims and build requests", () => {
    const view = live.viewForBuild();
    expect(view.cursor).toBe(live.view.cursor);
    expect(view.catalog).toBe(live.catalog);
    expect(view.claims).toBe(live.claims);
    expect(view.builds).toBe(live.builds);
    expect(view.catalog.available("before/1")).toBeDefined();
  });

  it("hands each build every event after its cursor, applying each to the shared model once", async () => {
    const a = live.viewForBuild();
    const b = live.viewForBuild();
    await log.append([manifest("fresh/1")]);
    const seenByA = await a.refresh(log);
    expect(refsOf(seenByA)).toEqual(["fresh/1"]);
    const entry = live.catalog.get("fresh/1");
    expect(entry?.status).toBe(PartitionStatus.PARTITION_AVAILABLE);
    // b reads the same event: fresh to b, not applied again (a second apply would make a new entry).
    expect(refsOf(await b.refresh(log))).toEqual(["fresh/1"]);
    expect(live.catalog.get("fresh/1")).toBe(entry);
    // The LiveLog's watch delivers it too and skips it in the model, and its cursor is the head.
    await live.caughtUpTo(await log.head());
    expect(live.catalog.get("fresh/1")).toBe(entry);
    expect(live.view.cursor).toBeGreaterThanOrEqual(a.cursor);
  });

  it("hands a build what the watch applied before it looked, in offset order", async () => {
    const late = live.viewForBuild();
    await log.append([manifest("watched/1"), failed("watched/2", "br-x")]);
    await live.caughtUpTo(await log.head());
    const entry = live.catalog.get("watched/1");
    expect(refsOf(await late.refresh(log))).toEqual(["watched/1", "watched/2"]);
    expect(live.catalog.get("watched/1")).toBe(entry);
    expect(live.catalog.get("watched/2")?.status).toBe(PartitionStatus.PARTITION_FAILED);
  });

  it("keeps atomic appends exact: the decide sees what the build had not, the sibling sees the append", async () => {
    const a = live.viewForBuild();
    const b = live.viewForBuild();
    await log.append([manifest("atomic/seen")]);
    let seenInDecide: string[] = [];
    const outcome = await log.appendAtomically(a.cursor, SHARED_VIEW_FILTER, (events) => {
      seenInDecide = refsOf(a.apply(events));
      // Decided on the shared model, which holds everything logged before.
      const append = a.catalog.available("atomic/seen") ? [manifest("atomic/decided", "br-a")] : [];
      return { append, result: undefined };
    });
    expect(seenInDecide).toEqual(["atomic/seen"]);
    expect(refsOf(a.applyAppended([manifest("atomic/decided", "br-a")], outcome.offsets, outcome.head))).toEqual([
      "atomic/decided",
    ]);
    expect(a.cursor).toBe(outcome.head);
    expect(live.view.cursor).toBeGreaterThanOrEqual(outcome.head);
    const entry = live.catalog.get("atomic/decided");
    expect(entry).toBeDefined();
    // The sibling had read none of it: both events are fresh to it, and the model is left as it was.
    expect(refsOf(await b.refresh(log))).toEqual(["atomic/seen", "atomic/decided"]);
    expect(live.catalog.get("atomic/decided")).toBe(entry);
  });

  it("snapshots and adopts nothing of its own: the LiveLog owns the model", async () => {
    const view = live.viewForBuild();
    await view.snapshot();
    expect((await log.snapshots!.load("shared-view")).snapshot).toBeUndefined();
    expect(() => view.adopt()).toThrow(/shares the LiveLog's model/);
  });
});
