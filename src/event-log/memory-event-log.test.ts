import { describe, expect, it } from "vitest";
import { describeEventLogContract } from "./event-log-contract.ts";
import { MemoryEventLog } from "./memory-event-log.ts";
import { sampleEvents } from "./sample-events.ts";

describeEventLogContract("memory", async () => ({ log: new MemoryEventLog() }));

describe("MemoryEventLog", () => {
  it("delivers to watchers on a microtask, without waiting for a timer", async () => {
    const log = new MemoryEventLog();
    const seen: number[] = [];
    log.watch(0, (events) => seen.push(...events.map((e) => e.offset)));
    await log.append(sampleEvents(2));
    await Promise.resolve();
    expect(seen).toEqual([1, 2]);
  });

  it("shares no objects with callers", async () => {
    const log = new MemoryEventLog();
    const [event] = sampleEvents(1);
    await log.append([event!]);
    event!.buildRequestId = "changed";
    const [stored] = await log.read(0);
    stored!.event.jobRunId = "changed too";
    expect((await log.read(0))[0]!.event.buildRequestId).toBe("br-1");
    expect((await log.read(0))[0]!.event.jobRunId).toBe("");
  });
});
