/**
 * @module The shared test suite every EventLog backend must pass (STYLE
 * lesson 9): run it from each backend's test file with a factory that opens
 * a fresh, empty log.
 */
import { equals } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import type { EventCase } from "../core/build-event.ts";
import type { EventFilter, EventLog, LoggedEvent } from "../core/event-log.ts";
import { BuildEventSchema, type BuildEvent } from "../gen/databuild_pb.ts";
import { COMMIT_ORDER_CASES } from "./commit-order-contract.ts";
import { ids, offsets, settle, waitFor, type Case, type OtherWriters } from "./contract-support.ts";
import { PARTITION_CASES } from "./partition-contract.ts";
import { sampleEvent, sampleEvents } from "./sample-events.ts";

/** Opens a fresh, empty log; `cleanup` runs after the log is closed. */
export type OpenEventLog = () => Promise<{
  log: EventLog;
  cleanup?: () => Promise<void>;
  /**
   * Appends to the same log through connections of their own (for a file:
   * other processes), for the commit-order case. Without it, that case's
   * writers are concurrent callers of `log` itself.
   */
  writers?: OtherWriters;
}>;

export interface EventLogContractOptions {
  /** Cases this backend cannot pass, each with the reason (a non-empty string). */
  readonly skip?: { readonly [C in EventLogContractCase]?: string };
  /** Per-case timeout; default 20 s (real files, fsyncs). */
  readonly timeoutMs?: number;
}

/**
 * Declares `describe("EventLog contract: <name>")` with one `it` per case.
 * Each case gets its own log from `open` and closes it afterwards. Watch
 * cases wait up to 5 s for deliveries, so a polling backend should be opened
 * with a short poll interval to keep the suite fast.
 */
export function describeEventLogContract(
  name: string,
  open: OpenEventLog,
  options: EventLogContractOptions = {},
): void {
  describe(`EventLog contract: ${name}`, () => {
    for (const [title, body] of Object.entries(CASES) as [EventLogContractCase, Case][]) {
      const reason = options.skip?.[title];
      if (reason !== undefined) {
        if (reason.trim() === "") throw new Error(`skipping "${title}" for ${name} needs a reason`);
        it.skip(`${title} (skipped: ${reason})`, () => {});
        continue;
      }
      it(
        title,
        async () => {
          const { log, cleanup, writers } = await open();
          try {
            await body(log, { writers: writers ?? sameLogWriters(log) });
          } finally {
            await log.close();
            await cleanup?.();
          }
        },
        options.timeoutMs ?? 20_000,
      );
    }
  });
}

/** Writers that are concurrent callers of `log`: each appends its events five at a time. */
function sameLogWriters(log: EventLog): OtherWriters {
  return async (scopes, count) => {
    await Promise.all(
      scopes.map(async (buildRequestId) => {
        for (let k = 0; k < count; k += 5)
          await log.append(sampleEvents(Math.min(5, count - k), { buildRequestId }, k));
      }),
    );
  };
}

const A = { buildRequestId: "br-a" };
const A1 = { buildRequestId: "br-a", jobRunId: "run-1" };
const A2 = { buildRequestId: "br-a", jobRunId: "run-2" };
const B1 = { buildRequestId: "br-b", jobRunId: "run-1" };

/** Appends a known mix: 8 events per scope (all eight kinds), scopes interleaved. */
async function seed(log: EventLog): Promise<BuildEvent[]> {
  const events = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((i) => [A, A1, A2, B1].map((s) => sampleEvent(i, s)));
  await log.append(events);
  return events;
}

/** The reference answer for `filter`: seed order, as the backend must return it. */
function expected(events: readonly BuildEvent[], filter: EventFilter): string[] {
  return events
    .filter(
      (e) =>
        (filter.buildRequestId === undefined || e.buildRequestId === filter.buildRequestId) &&
        (filter.exceptBuildRequestId === undefined || e.buildRequestId !== filter.exceptBuildRequestId) &&
        (filter.jobRunId === undefined || e.jobRunId === filter.jobRunId) &&
        (filter.kinds === undefined || filter.kinds.includes(e.event.case as EventCase)),
    )
    .map((e) => e.eventId);
}

const CASES = {
  "offsets start at 1 and increase with each append": async (log) => {
    expect(await log.head()).toBe(0);
    expect(await log.append(sampleEvents(3))).toEqual([1, 2, 3]);
    const next = await log.append(sampleEvents(2, A, 3));
    expect(next[0]).toBeGreaterThan(3);
    expect(next[1]).toBeGreaterThan(next[0]!);
    expect(await log.append([])).toEqual([]);
  },

  "read returns events after a cursor in offset order": async (log) => {
    const events = sampleEvents(10);
    const at = await log.append(events);
    const all = await log.read(0);
    expect(ids(all)).toEqual(events.map((e) => e.eventId));
    expect(offsets(all)).toEqual(at);
    expect(ids(await log.read(at[3]!))).toEqual(events.slice(4).map((e) => e.eventId));
    expect(await log.read(at[9]!)).toEqual([]);
    expect(await log.read(at[9]! + 1000)).toEqual([]);
  },

  "read filters by build request id": async (log) => {
    const events = await seed(log);
    for (const buildRequestId of ["br-a", "br-b", "br-none"]) {
      expect(ids(await log.read(0, { buildRequestId }))).toEqual(expected(events, { buildRequestId }));
    }
  },

  "read can leave out one build request's events (exceptBuildRequestId)": async (log) => {
    const events = await seed(log);
    await log.append([sampleEvent(9, { buildRequestId: "" })]);
    const all = [...events, ...(await log.read(events.length)).map((e) => e.event)];
    for (const exceptBuildRequestId of ["br-a", "br-b", "br-none", ""]) {
      const got = ids(await log.read(0, { exceptBuildRequestId }));
      expect(got).toEqual(expected(all, { exceptBuildRequestId }));
    }
    expect(ids(await log.read(0, { exceptBuildRequestId: "br-a", kinds: ["logEntry"] }))).toEqual(
      expected(all, { exceptBuildRequestId: "br-a", kinds: ["logEntry"] }),
    );
  },

  "read filters by job run id (an empty id selects events without a job run)": async (log) => {
    const events = await seed(log);
    for (const jobRunId of ["run-1", "run-2", "", "run-none"]) {
      expect(ids(await log.read(0, { jobRunId }))).toEqual(expected(events, { jobRunId }));
    }
  },

  "read filters by kinds (an empty list matches nothing)": async (log) => {
    const events = await seed(log);
    const lists: EventCase[][] = [["logEntry"], ["jobGraph", "taskFailed", "jobHeartbeat"], ["graphBuildSuccess"], []];
    for (const kinds of lists) {
      expect(ids(await log.read(0, { kinds }))).toEqual(expected(events, { kinds }));
    }
  },

  "read combines filter fields with AND": async (log) => {
    const events = await seed(log);
    const filters: EventFilter[] = [
      { buildRequestId: "br-a", jobRunId: "run-1" },
      { buildRequestId: "br-b", jobRunId: "run-2" },
      { buildRequestId: "br-a", kinds: ["logEntry", "partitionManifest"] },
      { jobRunId: "run-1", kinds: ["buildRequestReceived"] },
      { buildRequestId: "br-a", jobRunId: "", kinds: ["partitionStatusChanged", "jobHeartbeat"] },
    ];
    for (const filter of filters) {
      const got = await log.read(0, filter);
      expect(ids(got), JSON.stringify(filter)).toEqual(expected(events, filter));
    }
    const cursor = (await log.read(0, { buildRequestId: "br-a" }))[5]!.offset;
    const after = await log.read(cursor, { buildRequestId: "br-a", jobRunId: "run-2" });
    expect(after.every((l) => l.offset > cursor)).toBe(true);
    expect(ids(after)).toEqual(
      ids((await log.read(0, { buildRequestId: "br-a", jobRunId: "run-2" })).filter((l) => l.offset > cursor)),
    );
  },

  "read returns at most limit events, with or without a filter": async (log) => {
    const events = await seed(log);
    expect(ids(await log.read(0, undefined, 5))).toEqual(events.slice(0, 5).map((e) => e.eventId));
    expect(ids(await log.read(0, {}, 5))).toEqual(events.slice(0, 5).map((e) => e.eventId));
    expect(ids(await log.read(0, { buildRequestId: "br-b" }, 3))).toEqual(
      expected(events, { buildRequestId: "br-b" }).slice(0, 3),
    );
    expect(await log.read(0, undefined, 0)).toEqual([]);
    expect(await log.read(0, undefined, 1000)).toHaveLength(events.length);
  },

  "events round-trip exactly (oneofs, nested messages, maps, enums, 64-bit ints, timestamps)": async (log) => {
    const events = [...sampleEvents(16, A1), ...sampleEvents(8, B1, 100)];
    await log.append(events);
    const back = await log.read(0);
    expect(back.map((l) => l.event)).toEqual(events);
    back.forEach((l, i) => expect(equals(BuildEventSchema, l.event, events[i]!)).toBe(true));
  },

  "concurrent appends from many callers keep each caller's order and lose nothing": async (log) => {
    const callers = 20;
    const appendsEach = 25;
    const returned = new Map<string, number>();
    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        for (let k = 0; k < appendsEach; k++) {
          const batch = sampleEvents(1 + ((c + k) % 3), { buildRequestId: `caller-${c}` }, k * 3);
          const got = await log.append(batch);
          batch.forEach((e, i) => returned.set(e.eventId, got[i]!));
        }
      }),
    );
    const all = await log.read(0);
    expect(new Set(offsets(all)).size).toBe(all.length);
    expect(all.length).toBe(returned.size);
    for (const l of all) expect(returned.get(l.event.eventId)).toBe(l.offset);
    for (let c = 0; c < callers; c++) {
      const mine = all.filter((l) => l.event.buildRequestId === `caller-${c}`);
      // sampleEvents stamps event i at base + i ms, so each caller's timestamps rise with its call order.
      const times = mine.map((l) => timestampMs(l.event.timestamp!));
      expect(times).toEqual([...times].sort((x, y) => x - y));
    }
  },

  "one append of many events stores them all, in order": async (log) => {
    const events = sampleEvents(12_000);
    const at = await log.append(events);
    expect(at).toHaveLength(events.length);
    expect(at.every((o, i) => i === 0 || o > at[i - 1]!)).toBe(true);
    expect(ids(await log.read(0))).toEqual(events.map((e) => e.eventId));
  },

  "watch delivers existing and new events in order, without gaps or duplicates": async (log) => {
    await log.append(sampleEvents(5));
    const seen: LoggedEvent[] = [];
    const stop = log.watch(0, (events) => seen.push(...events));
    try {
      await waitFor(() => seen.length >= 5, "the existing events");
      const writers = [0, 1, 2, 3].map(async (w) => {
        for (let k = 0; k < 10; k++) await log.append(sampleEvents(3, { buildRequestId: `w${w}` }, k * 3));
      });
      await Promise.all(writers);
      await waitFor(() => seen.length >= 125, "the new events");
      await settle();
      const all = await log.read(0);
      expect(offsets(seen)).toEqual(offsets(all));
      expect(ids(seen)).toEqual(ids(all));
    } finally {
      stop();
    }
  },

  "watch starts after its cursor and honours its filter": async (log) => {
    const first = await log.append(sampleEvents(6, A1));
    const seen: LoggedEvent[] = [];
    const filter: EventFilter = { buildRequestId: "br-a", jobRunId: "run-1" };
    const stop = log.watch(first[2]!, (events) => seen.push(...events), filter);
    try {
      await log.append([...sampleEvents(4, B1), ...sampleEvents(4, A1, 6), ...sampleEvents(4, A2)]);
      await waitFor(() => seen.length >= 7, "the matching events");
      await settle();
      expect(ids(seen)).toEqual(ids(await log.read(first[2]!, filter)));
      expect(seen).toHaveLength(7);
    } finally {
      stop();
    }
  },

  "watch stops delivering once unsubscribed": async (log) => {
    const seen: LoggedEvent[] = [];
    const stop = log.watch(0, (events) => seen.push(...events));
    await log.append(sampleEvents(3));
    await waitFor(() => seen.length >= 3, "the first events");
    stop();
    await log.append(sampleEvents(3, A, 3));
    await settle();
    expect(seen).toHaveLength(3);
    stop(); // a second call is harmless
  },

  "watch on a filter that matches nothing delivers nothing": async (log) => {
    const seen: LoggedEvent[] = [];
    const stop = log.watch(0, (events) => seen.push(...events), { kinds: [] });
    await log.append(sampleEvents(4));
    await settle();
    stop();
    expect(seen).toEqual([]);
  },

  "head is the offset of the last event": async (log) => {
    expect(await log.head()).toBe(0);
    const at = await log.append(sampleEvents(4));
    expect(await log.head()).toBe(at[3]);
    const more = await log.append(sampleEvents(1, A, 4));
    expect(await log.head()).toBe(more[0]);
  },

  "re-appending a stored event id stores nothing and returns the stored offset": async (log) => {
    const [a, b, c] = sampleEvents(3);
    const first = await log.append([a!, b!]);
    expect(await log.append([a!])).toEqual([first[0]]);
    const mixed = await log.append([c!, b!, c!]);
    expect(mixed[1]).toBe(first[1]);
    expect(mixed[2]).toBe(mixed[0]);
    expect(mixed[0]).toBeGreaterThan(first[1]!);
    // Only the id decides: a relayed copy with different content is still the same event.
    const relayed = { ...a!, buildRequestId: "br-relay" };
    expect(await log.append([relayed])).toEqual([first[0]]);
    expect(ids(await log.read(0))).toEqual([a!.eventId, b!.eventId, c!.eventId]);
    expect(await log.head()).toBe(mixed[0]);
  },

  "append rejects an event without an event id and stores nothing of that call": async (log) => {
    const [a, b] = sampleEvents(2);
    await expect(log.append([a!, { ...b!, eventId: "" }])).rejects.toThrow(/event_id/);
    expect(await log.head()).toBe(0);
  },

  "appendAtomically hands decide the filtered events after the cursor, appends its events and reports the head": async (
    log,
  ) => {
    const events = await seed(log);
    const filter: EventFilter = { buildRequestId: "br-b" };
    const [extra] = sampleEvents(1, A, 100);
    const outcome = await log.appendAtomically(4, filter, (seen) => ({
      append: [extra!],
      result: ids(seen),
    }));
    expect(outcome.result).toEqual(expected(events.slice(4), filter));
    expect(outcome.offsets).toEqual([events.length + 1]);
    expect(outcome.head).toBe(events.length + 1);
    expect(ids(await log.read(events.length))).toEqual([extra!.eventId]);
  },

  "appendAtomically commits this process's earlier appends first": async (log) => {
    const pending = log.append(sampleEvents(3, A));
    const outcome = await log.appendAtomically(0, undefined, (seen) => ({ append: [], result: seen.length }));
    expect(outcome.result).toBe(3);
    expect(outcome.offsets).toEqual([]);
    expect(outcome.head).toBe(3);
    expect(await pending).toEqual([1, 2, 3]);
  },

  "appendAtomically appends nothing when decide throws": async (log) => {
    await log.append(sampleEvents(2, A));
    await expect(
      log.appendAtomically(0, undefined, () => {
        throw new Error("decided against it");
      }),
    ).rejects.toThrow(/decided against it/);
    expect(await log.head()).toBe(2);
  },

  "concurrent appendAtomically calls see each other's appends: exactly one wins a claim": async (log) => {
    const claim = (who: number) =>
      log.appendAtomically(0, { kinds: ["partitionStatusChanged"] }, (seen) =>
        seen.length > 0
          ? { append: [], result: false }
          : { append: sampleEvents(1, { buildRequestId: `claimer-${who}` }, 2), result: true },
      );
    const wins = await Promise.all(Array.from({ length: 20 }, (_, k) => claim(k)));
    expect(wins.filter((w) => w.result)).toHaveLength(1);
    expect(await log.read(0, { kinds: ["partitionStatusChanged"] })).toHaveLength(1);
  },

  "close commits appends still pending": async (log) => {
    let acknowledged: number[] | undefined;
    const pending = Array.from({ length: 50 }, (_, k) =>
      log.append(sampleEvents(2, A, k * 2)).then((at) => (acknowledged = at)),
    );
    await log.close();
    expect(acknowledged).toBeDefined();
    expect((await Promise.all(pending)).flat()).toHaveLength(100);
  },

  "after close, operations fail and close is idempotent": async (log) => {
    await log.append(sampleEvents(1));
    await log.close();
    await expect(log.append(sampleEvents(1, A, 1))).rejects.toThrow(/closed/);
    await expect(log.read(0)).rejects.toThrow(/closed/);
    await expect(log.head()).rejects.toThrow(/closed/);
    await log.close();
  },

  ...PARTITION_CASES,
  ...COMMIT_ORDER_CASES,
} satisfies Record<string, Case>;

/** The names of the contract's cases, for `skip`. */
export type EventLogContractCase = keyof typeof CASES;
