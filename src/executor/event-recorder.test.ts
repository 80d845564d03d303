// EventRecorder shows observers (the progress display) only what the log
// holds: an event reaches them once its batch is durable, and never when its
// append failed or was fenced off.
import { describe, expect, it } from "vitest";
import type { AtomicDecision, AtomicOutcome, EventFilter, LoggedEvent } from "../core/event-log.ts";
import { eventPayload } from "../core/build-event.ts";
import { newEvent } from "../core/new-event.ts";
import type { BuildEvent } from "../gen/databuild_pb.ts";
import { MemoryEventLog } from "../event-log/memory-event-log.ts";
import { EventRecorder } from "./event-recorder.ts";

const scope = { buildRequestId: "b1" };
const stored = async (log: MemoryEventLog) => (await log.read(0)).map((l) => l.event.eventId);
const heartbeat = () => eventPayload("buildHeartbeat", { runningJobs: 1 });

/** A log whose appends wait until released, and fail once told to. */
class ControlledLog extends MemoryEventLog {
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};
  failWith: unknown;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.open();
  }

  override async append(events: readonly BuildEvent[]): Promise<number[]> {
    await this.gate;
    if (this.failWith !== undefined) throw this.failWith;
    return super.append(events);
  }

  override async appendAtomically<T>(
    after: number,
    filter: EventFilter | undefined,
    decide: (events: readonly LoggedEvent[]) => AtomicDecision<T>,
  ): Promise<AtomicOutcome<T>> {
    await this.gate;
    if (this.failWith !== undefined) throw this.failWith;
    return super.appendAtomically(after, filter, decide);
  }
}

describe("EventRecorder", () => {
  for (const fenced of [false, true]) {
    const how = fenced ? "fenced" : "plain";

    it(`shows an event to observers only once its batch is durable (${how} appends)`, async () => {
      const log = new ControlledLog();
      const seen: string[] = [];
      const fence = fenced ? { buildRequestId: "b1", onLost: () => {} } : undefined;
      const recorder = new EventRecorder(log, [(e) => seen.push(e.eventId)], fence);
      log.hold();
      const first = recorder.emit(scope, heartbeat());
      const durable = recorder.durable();
      await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual([]); // recorded, not yet in the log
      log.release();
      await durable;
      expect(await stored(log)).toEqual([first.eventId]);
      expect(seen).toEqual([first.eventId]);
    });

    it(`never shows what a failed append did not record, nor anything after it (${how} appends)`, async () => {
      const log = new ControlledLog();
      const seen: string[] = [];
      const fence = fenced ? { buildRequestId: "b1", onLost: () => {} } : undefined;
      const recorder = new EventRecorder(log, [(e) => seen.push(e.eventId)], fence);
      const ok = recorder.emit(scope, heartbeat());
      await recorder.durable();
      const full = new Error("the disk is full");
      log.failWith = full;
      recorder.emit(scope, heartbeat());
      await expect(recorder.durable()).rejects.toBe(full);
      log.failWith = undefined;
      recorder.emit(scope, heartbeat());
      await expect(recorder.durable()).rejects.toBe(full);
      expect(recorder.appendFailure).toBe(full);
      expect(seen).toEqual([ok.eventId]);
      expect(await stored(log)).toEqual([ok.eventId]);
    });
  }

  it("shows nothing of a batch refused because this build request was declared lost", async () => {
    const log = new ControlledLog();
    const seen: string[] = [];
    const lost: string[] = [];
    const recorder = new EventRecorder(log, [(e) => seen.push(e.eventId)], {
      buildRequestId: "b1",
      onLost: (by) => lost.push(by),
    });
    const before = recorder.emit(scope, heartbeat());
    await recorder.durable();
    await log.append([newEvent(scope, eventPayload("buildRequestLost", { detectedByBuildRequestId: "b2" }))]);
    recorder.emit(scope, heartbeat());
    await recorder.durable();
    expect(lost).toEqual(["b2"]);
    expect(seen).toEqual([before.eventId]);
  });

  it("without a log (a dry run) shows events at once", () => {
    const seen: string[] = [];
    const recorder = new EventRecorder(undefined, [(e) => seen.push(e.eventId)]);
    const event = recorder.emit(scope, heartbeat());
    expect(seen).toEqual([event.eventId]);
  });
});
