import { describe, expect, it } from "vitest";
import { tickDates } from "../core/triggers.ts";
import { compileCron } from "../gsl/cron.ts";
import { dueTicks, scheduleTickKey } from "./schedule-ticks.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function cron(expression: string, timeZone = "UTC") {
  const times = compileCron(expression, timeZone);
  if (typeof times === "string") throw new Error(times);
  return times;
}

describe("cron times in a time zone", () => {
  it("gives the next and previous ticks of a daily schedule in Europe/Berlin", () => {
    const times = cron("0 3 * * *", "Europe/Berlin");
    // 03:00 CET is 02:00 UTC in winter.
    expect(iso(times.next(at("2024-01-10T12:00:00Z")))).toBe("2024-01-11T02:00:00.000Z");
    expect(iso(times.prev(at("2024-01-10T12:00:00Z")))).toBe("2024-01-10T02:00:00.000Z");
    // Strictly after / before: a tick time itself is neither its own next nor prev.
    expect(iso(times.next(at("2024-01-10T02:00:00Z")))).toBe("2024-01-11T02:00:00.000Z");
    expect(iso(times.prev(at("2024-01-10T02:00:00Z")))).toBe("2024-01-09T02:00:00.000Z");
  });

  it("ticks once on the day clocks spring forward, even at an hour that does not exist that day", () => {
    // Europe/Berlin, 2024-03-31: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
    const times = cron("30 2 * * *", "Europe/Berlin");
    const ticks: string[] = [];
    let t = at("2024-03-29T12:00:00Z");
    for (let i = 0; i < 4; i++) ticks.push(iso((t = times.next(t)!))!);
    expect(ticks).toEqual([
      "2024-03-30T01:30:00.000Z", // 02:30 CET
      "2024-03-31T01:30:00.000Z", // 03:30 CEST, the only tick that day
      "2024-04-01T00:30:00.000Z", // 02:30 CEST
      "2024-04-02T00:30:00.000Z",
    ]);
  });

  it("keeps the local hour across the autumn change (America/New_York)", () => {
    const times = cron("0 3 * * *", "America/New_York");
    expect(iso(times.prev(at("2024-11-03T12:00:00Z")))).toBe("2024-11-03T08:00:00.000Z"); // 03:00 EST
    expect(iso(times.prev(at("2024-11-03T08:00:00Z")))).toBe("2024-11-02T07:00:00.000Z"); // 03:00 EDT
  });

  it("rejects malformed expressions and unknown zones with a message naming them", () => {
    expect(compileCron("61 * * * *", "UTC")).toMatch(/cron expression "61 \* \* \* \*": .*59/);
    expect(compileCron("0 3 * * *", "Mars/Olympus")).toMatch(/unknown time zone "Mars\/Olympus"/);
    expect(compileCron("", "UTC")).toMatch(/non-empty/);
  });
});

describe("tick dates", () => {
  it("gives {date} as the day before the tick in the schedule's zone", () => {
    // 2024-03-01T00:30Z is still Feb 29 in New York.
    expect(tickDates(at("2024-03-01T00:30:00Z"), "America/New_York")).toEqual({
      date: "2024-02-28",
      tickDate: "2024-02-29",
      tickHour: "19",
    });
    expect(tickDates(at("2024-03-01T00:30:00Z"), "UTC")).toEqual({
      date: "2024-02-29",
      tickDate: "2024-03-01",
      tickHour: "00",
    });
    expect(tickDates(at("2025-01-01T05:00:00Z"), "Asia/Tokyo").date).toBe("2024-12-31");
  });
});

describe("due ticks", () => {
  const hourly = { times: cron("0 * * * *"), catchUpLimit: 3 };

  it("are none before the next tick, and the one tick once it passed", () => {
    expect(dueTicks(hourly, at("2024-05-01T10:00:00Z"), at("2024-05-01T10:59:59Z"))).toEqual({ evaluate: [] });
    expect(dueTicks(hourly, at("2024-05-01T10:00:00Z"), at("2024-05-01T11:00:00Z"))).toEqual({
      evaluate: [at("2024-05-01T11:00:00Z")],
    });
  });

  it("catch up the newest ticks up to the limit, oldest first, and report the older ones as missed", () => {
    const due = dueTicks(hourly, at("2024-05-01T10:00:00Z"), at("2024-05-01T17:30:00Z"));
    expect(due.evaluate.map(iso)).toEqual([
      "2024-05-01T15:00:00.000Z",
      "2024-05-01T16:00:00.000Z",
      "2024-05-01T17:00:00.000Z",
    ]);
    expect(iso(due.missed!.firstMs)).toBe("2024-05-01T11:00:00.000Z");
    expect(iso(due.missed!.lastMs)).toBe("2024-05-01T14:00:00.000Z");
  });

  it("with a limit of 0 evaluate nothing and miss everything", () => {
    const due = dueTicks({ ...hourly, catchUpLimit: 0 }, at("2024-05-01T10:00:00Z"), at("2024-05-01T12:10:00Z"));
    expect(due.evaluate).toEqual([]);
    expect(due.missed).toEqual({ firstMs: at("2024-05-01T11:00:00Z"), lastMs: at("2024-05-01T12:00:00Z") });
  });

  it("are keyed by their time in UTC", () => {
    expect(scheduleTickKey(at("2024-05-01T11:00:00Z"))).toBe("2024-05-01T11:00:00.000Z");
  });
});
