import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { TriggerOutcome } from "../../gen/databuild_pb.ts";
import { eventPayload } from "../build-event.ts";
import { newEvent } from "../new-event.ts";
import { TriggerBook } from "./triggers.ts";
import { decodeSnapshot, encodeSnapshotState } from "../../event-log/snapshot-codec.ts";

const tick = (trigger: string, key: string, tickMs: number, outcome: TriggerOutcome, buildRequestId = "") =>
  newEvent(
    { buildRequestId },
    eventPayload("triggerTick", {
      trigger,
      tickKey: key,
      tickTime: timestampFromMs(tickMs),
      outcome,
      evaluatedBy: "r1",
    }),
  );

describe("TriggerBook", () => {
  it("keeps each trigger's claimed keys, last tick, latest tick time and paused state", () => {
    const book = new TriggerBook();
    book.apply(tick("nightly", "2024-05-02T01:00:00.000Z", 2000, TriggerOutcome.TRIGGER_REQUESTED, "b1"), 5);
    // A catch-up MISSED of an older range recorded after: the latest tick time stays.
    book.apply(tick("nightly", "2024-05-01T01:00:00.000Z", 1000, TriggerOutcome.TRIGGER_MISSED), 6);
    book.apply(newEvent({ buildRequestId: "" }, eventPayload("triggerPaused", { trigger: "nightly", by: "a@h" })), 7);
    expect(book.claimed("nightly", "2024-05-02T01:00:00.000Z")).toBe(true);
    expect(book.claimed("nightly", "2024-05-03T01:00:00.000Z")).toBe(false);
    expect(book.claimed("other", "2024-05-02T01:00:00.000Z")).toBe(false);
    const record = book.get("nightly")!;
    expect(record.last).toMatchObject({ outcome: TriggerOutcome.TRIGGER_MISSED, offset: 6, evaluatedBy: "r1" });
    expect(record.latestTickMs).toBe(2000);
    expect(record).toMatchObject({ paused: true, pausedBy: "a@h", pauseOffset: 7 });
    book.apply(newEvent({ buildRequestId: "" }, eventPayload("triggerResumed", { trigger: "nightly", by: "b@h" })), 8);
    expect(book.isPaused("nightly")).toBe(false);
  });

  it("restores from its snapshot state to the same answers", () => {
    const book = new TriggerBook();
    book.apply(tick("s", "k1", 1000, TriggerOutcome.TRIGGER_REQUESTED, "b1"), 1);
    book.apply(tick("s", "k2", 2000, TriggerOutcome.TRIGGER_NOTHING_TO_DO), 2);
    const restored = new TriggerBook();
    const stored = encodeSnapshotState(book.saveState());
    restored.restoreState(decodeSnapshot(book.name, { version: 1, offset: 2, ...stored }).snapshot!.state);
    expect(restored.claimed("s", "k1") && restored.claimed("s", "k2")).toBe(true);
    expect(restored.get("s")).toEqual(book.get("s"));
    expect(() => new TriggerBook().restoreState({ nope: 1 })).toThrow(/trigger-book: its saved state has no triggers/);
  });
});
