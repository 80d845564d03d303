/**
 * @module Contract cases for reads by partition (EventFilter.partitions) and
 * by offset (readAt). The reference answer is always a scan:
 * `partitionRefsOf` applied to every event, so a backend's index must agree
 * with it exactly ("index = scan").
 */
import fc from "fast-check";
import { expect } from "vitest";
import { eventPayload, type EventPayload } from "../core/build-event.ts";
import type { EventFilter, EventLog, LoggedEvent } from "../core/event-log.ts";
import { newEvent, type EventScope } from "../core/new-event.ts";
import { partitionRefsOf } from "../core/partition-refs.ts";
import { DelegationReason, PartitionStatus, type BuildEvent } from "../gen/databuild_pb.ts";
import { randomHistory } from "../testing/random-history.ts";
import { ids, offsets, settle, waitFor, type Case } from "./contract-support.ts";
import { sampleEvents } from "./sample-events.ts";

const A = { buildRequestId: "br-a" };
const A1 = { buildRequestId: "br-a", jobRunId: "run-1" };
const B = { buildRequestId: "br-b" };
const B2 = { buildRequestId: "br-b", jobRunId: "run-2" };

const ref = (str: string) => ({ str });
const status = (r: string) =>
  eventPayload("partitionStatusChanged", { partitionRef: ref(r), status: PartitionStatus.PARTITION_BUILDING });
const manifest = (...outputs: string[]) =>
  eventPayload("partitionManifest", { outputs: outputs.map(ref), inputs: [{ partitionRef: ref("in/1") }] });

/**
 * Events about p/1 .. p/4 in several kinds and scopes: some about several
 * partitions (a claim of three, a manifest naming one output twice), some
 * about none, and some that only mention a partition without being about it
 * (a manifest's input, an invalidation's request list).
 */
function aboutPartitions(base = 0): BuildEvent[] {
  const items: [EventScope, EventPayload][] = [
    [A, status("p/1")],
    [A, eventPayload("partitionsClaimed", { partitions: ["p/1", "p/2", "p/3"].map(ref) })],
    [A1, status("p/2")],
    [A1, eventPayload("logEntry", { line: "about nothing" })],
    [A1, manifest("p/2", "p/2")],
    [B, eventPayload("partitionDelegated", { partitionRef: ref("p/3"), reason: DelegationReason.IN_PROGRESS })],
    [B, eventPayload("partitionsInvalidated", { requested: [ref("p/4")] })],
    [B2, status("p/4")],
    [B2, manifest("p/4", "p/1")],
    [B, eventPayload("partitionsReleased", { partitions: ["p/1", "p/3"].map(ref), reason: "cancelled" })],
    [A, eventPayload("buildRequestStatusChanged", {})],
    [B2, manifest("in/2")],
  ];
  return items.map(([scope, payload], i) => newEvent(scope, payload, 1_714_550_400_000 + base + i));
}

/** The scan: the events of `logged` (after `after`) that pass `filter`, partitions by `partitionRefsOf`. */
function scan(logged: readonly LoggedEvent[], filter: EventFilter, after = 0): LoggedEvent[] {
  return logged.filter(
    ({ offset, event: e }) =>
      offset > after &&
      (filter.buildRequestId === undefined || e.buildRequestId === filter.buildRequestId) &&
      (filter.jobRunId === undefined || e.jobRunId === filter.jobRunId) &&
      (filter.kinds === undefined || (e.event.case !== undefined && filter.kinds.includes(e.event.case))) &&
      (filter.partitions === undefined || partitionRefsOf(e).some((r) => filter.partitions!.includes(r))),
  );
}

async function seeded(log: EventLog): Promise<LoggedEvent[]> {
  await log.append([...aboutPartitions(), ...sampleEvents(4, A), ...aboutPartitions(100)]);
  return log.read(0);
}

export const PARTITION_CASES = {
  "read filters by partitions: the events about any of them, each once; an empty list matches nothing": async (log) => {
    const all = await seeded(log);
    const lists = [["p/1"], ["p/2"], ["p/4"], ["p/1", "p/3"], ["p/2", "p/2"], ["p/3", "p/none"], ["in/1"], ["p/none"]];
    for (const partitions of lists) {
      const got = await log.read(0, { partitions });
      expect(offsets(got), partitions.join(",")).toEqual(offsets(scan(all, { partitions })));
      expect(ids(got)).toEqual(ids(scan(all, { partitions })));
    }
    // Inputs and invalidation requests are not what an event is about.
    expect(await log.read(0, { partitions: ["in/1"] })).toEqual([]);
    expect(await log.read(0, { partitions: [] })).toEqual([]);
    // The claim of p/1, p/2 and p/3 comes back once for all three.
    const claims = (await log.read(0, { partitions: ["p/1", "p/2", "p/3"] })).filter(
      (l) => l.event.event.case === "partitionsClaimed",
    );
    expect(claims).toHaveLength(2);
  },

  "partitions combine with the other filter fields, the cursor and limit": async (log) => {
    const all = await seeded(log);
    const filters: EventFilter[] = [
      { partitions: ["p/1", "p/4"], kinds: ["partitionManifest", "partitionStatusChanged"] },
      { partitions: ["p/1", "p/2"], buildRequestId: "br-a" },
      { partitions: ["p/2", "p/4"], jobRunId: "run-1" },
      { partitions: ["p/1", "p/3"], jobRunId: "" },
      { partitions: ["p/4"], buildRequestId: "br-b", jobRunId: "run-2", kinds: ["partitionManifest"] },
      { partitions: ["p/1"], kinds: [] },
      { partitions: ["p/2"], buildRequestId: "br-none" },
    ];
    const cursor = all[5]!.offset;
    for (const filter of filters) {
      const what = JSON.stringify(filter);
      expect(offsets(await log.read(0, filter)), what).toEqual(offsets(scan(all, filter)));
      expect(offsets(await log.read(cursor, filter)), what).toEqual(offsets(scan(all, filter, cursor)));
      expect(offsets(await log.read(cursor, filter, 2)), what).toEqual(offsets(scan(all, filter, cursor).slice(0, 2)));
    }
    const some = await log.read(0, { partitions: ["p/1"] }, 3);
    expect(offsets(some)).toEqual(offsets(scan(all, { partitions: ["p/1"] }).slice(0, 3)));
  },

  "watch and appendAtomically honour a partitions filter": async (log) => {
    const filter: EventFilter = { partitions: ["p/3"] };
    const seen: LoggedEvent[] = [];
    const stop = log.watch(0, (events) => seen.push(...events), filter);
    try {
      await log.append(aboutPartitions());
      const before = await log.read(0);
      const outcome = await log.appendAtomically(0, filter, (events) => ({
        append: aboutPartitions(100),
        result: ids(events),
      }));
      expect(outcome.result).toEqual(ids(scan(before, filter)));
      const expected = scan(await log.read(0), filter);
      await waitFor(() => seen.length >= expected.length, "the events about p/3");
      await settle();
      expect(offsets(seen)).toEqual(offsets(expected));
    } finally {
      stop();
    }
  },

  "index = scan: on random histories, reading by partition gives what filtering every event gives": async (log) => {
    const refs = ["raw/1", "raw/2", "clean/1", "clean/2", "none/1"];
    await fc.assert(
      fc.asyncProperty(randomHistory(30), fc.subarray(refs, { minLength: 2, maxLength: 2 }), async (history, pair) => {
        await log.append(history);
        const all = await log.read(0);
        for (const partitions of [...refs.map((r) => [r]), pair]) {
          expect(offsets(await log.read(0, { partitions })), partitions.join(",")).toEqual(
            offsets(all.filter((l) => partitionRefsOf(l.event).some((r) => partitions.includes(r)))),
          );
        }
      }),
      { numRuns: 25 },
    );
  },

  "readAt returns the events at the offsets asked, in offset order, each once, skipping offsets with no event": async (
    log,
  ) => {
    const at = await log.append(sampleEvents(10, A));
    const all = await log.read(0);
    const asked = [at[6]!, at[2]!, at[2]!, 0, -1, at[9]! + 5, at[9]!, at[0]!, 1.5];
    const got = await log.readAt(asked);
    expect(offsets(got)).toEqual([at[0]!, at[2]!, at[6]!, at[9]!]);
    expect(got.map((l) => l.event)).toEqual([0, 2, 6, 9].map((i) => all[i]!.event));
    expect(await log.readAt([])).toEqual([]);
    expect(await log.readAt([at[9]! + 1])).toEqual([]);
  },
} satisfies Record<string, Case>;
