import { describe, expect, it } from "vitest";
import { PartitionStatus } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import { History } from "../testing/coordination-history.ts";
import { decideInvalidation, type InvalidationRequest } from "./invalidation.ts";

const T0 = 1_700_000_000_000;
const request = (refs: string[], downstream = false): InvalidationRequest => ({
  refs,
  downstream,
  reason: "bad data",
  requester: "me@here",
  id: "inv",
});
/** raw/1 -> clean/1 -> report/1, and raw/1 -> clean/2: all built by build request "a". */
const lineage = () =>
  new History()
    .received("a", T0)
    .built("a", "raw/1", [], T0)
    .built("a", "clean/1", ["raw/1"], T0)
    .built("a", "report/1", ["clean/1"], T0)
    .built("a", "clean/2", ["raw/1"], T0)
    .built("a", "other/1", [], T0);

describe("decideInvalidation", () => {
  it("invalidates what was asked, and with downstream everything built from it, transitively", () => {
    expect(decideInvalidation(lineage().view(), request(["raw/1"])).invalidated).toEqual([{ ref: "raw/1" }]);
    const decision = decideInvalidation(lineage().view(), request(["raw/1"], true));
    expect(decision.invalidated).toEqual([
      { ref: "raw/1" },
      { ref: "clean/1", builtFrom: "raw/1" },
      { ref: "clean/2", builtFrom: "raw/1" },
      { ref: "report/1", builtFrom: "clean/1" },
    ]);
    expect(decision.events.map((e) => e.event.case)).toEqual([
      "partitionsInvalidated",
      ...decision.invalidated.map(() => "partitionStatusChanged"),
    ]);
    expect(decision.events.every((e) => e.buildRequestId === "inv")).toBe(true);
    expect(decision.events.at(-1)!.event.value).toMatchObject({
      partitionRef: { str: "report/1" },
      status: PartitionStatus.PARTITION_INVALIDATED,
      message: "invalidated by me@here: built from clean/1 (bad data)",
    });
  });

  it("refuses, recording nothing, partitions a live build request holds: asked for, or downstream", () => {
    const held = lineage().received("b", T0).claimed("b", ["report/1"], T0);
    const asked = decideInvalidation(held.view(), request(["report/1"]));
    expect(asked.busy.map(({ ref, holder }) => [ref, holder.buildRequestId])).toEqual([["report/1", "b"]]);
    expect(asked.events).toEqual([]);
    const downstream = decideInvalidation(held.view(), request(["raw/1"], true));
    expect(downstream.busy.map(({ ref }) => ref)).toEqual(["report/1"]);
    expect(downstream.events).toEqual([]);
    // Once the holder let go of it, the same request goes through.
    held.add("b", payload("partitionsReleased", { partitions: [{ str: "report/1" }] }), T0);
    expect(decideInvalidation(held.view(), request(["raw/1"], true)).events).toHaveLength(5);
  });

  it("refuses what was never built, and reports what is invalidated already or not available", () => {
    const history = lineage();
    const failed = (ref: string) =>
      history.add(
        "a",
        payload("partitionStatusChanged", { partitionRef: { str: ref }, status: PartitionStatus.PARTITION_FAILED }),
        T0,
      );
    failed("other/1");
    expect(decideInvalidation(history.view(), request(["nope/1", "raw/1"]))).toMatchObject({
      neverBuilt: ["nope/1"],
      events: [],
    });
    const done = decideInvalidation(history.view(), request(["clean/2"]));
    for (const e of done.events) history.add(e.buildRequestId, e.event, T0);
    const again = decideInvalidation(history.view(), request(["clean/2", "other/1", "raw/1"]));
    expect(again.already).toEqual(["clean/2"]);
    expect(again.notAvailable).toEqual([{ ref: "other/1", status: PartitionStatus.PARTITION_FAILED }]);
    expect(again.invalidated).toEqual([{ ref: "raw/1" }]);
  });
});
