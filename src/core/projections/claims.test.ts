import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { BuildRequestStatus, DelegationReason, PartitionStatus, type BuildEvent } from "../../gen/databuild_pb.ts";
import { eventPayload as payload, type EventPayload } from "../build-event.ts";
import { newEvent } from "../new-event.ts";
import { ClaimBook } from "./claims.ts";

const ref = (str: string) => ({ str });
const at = (buildRequestId: string, p: EventPayload, ms = 1_000, jobRunId = ""): BuildEvent => ({
  ...newEvent({ buildRequestId, jobRunId }, p),
  timestamp: timestampFromMs(ms),
});
const received = (id: string, timeoutMs = 30_000, ms = 1_000) =>
  at(id, payload("buildRequestReceived", { options: { heartbeatTimeoutMs: timeoutMs }, hostname: "h", pid: 7 }), ms);
const claimed = (id: string, ...refs: string[]) => at(id, payload("partitionsClaimed", { partitions: refs.map(ref) }));

function book(...events: BuildEvent[]): ClaimBook {
  const b = new ClaimBook();
  for (const e of events) b.apply(e);
  return b;
}

describe("ClaimBook", () => {
  it("holds a claim until the holder records the manifest, a failure or a release", () => {
    const b = book(received("a"), claimed("a", "x", "y", "z"));
    expect(["x", "y", "z"].map((r) => b.ownerOf(r)?.buildRequestId)).toEqual(["a", "a", "a"]);
    b.apply(at("a", payload("partitionManifest", { outputs: [ref("x")] })));
    b.apply(
      at("a", payload("partitionStatusChanged", { partitionRef: ref("y"), status: PartitionStatus.PARTITION_FAILED })),
    );
    b.apply(at("a", payload("partitionsReleased", { partitions: [ref("z")], reason: "cancelled" })));
    expect(["x", "y", "z"].map((r) => b.ownerOf(r))).toEqual([undefined, undefined, undefined]);
  });

  it("ends every claim when the holder ends or is declared lost", () => {
    const ended = book(
      received("a"),
      claimed("a", "x"),
      at("a", payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_CANCELLED })),
    );
    expect(ended.ownerOf("x")).toBeUndefined();
    const lost = book(
      received("a"),
      claimed("a", "x"),
      at("a", payload("buildRequestLost", { detectedByBuildRequestId: "b" })),
    );
    expect(lost.ownerOf("x")).toBeUndefined();
    expect(lost.lease("a")?.lost).toBe(true);
    // A lost build that wakes up cannot claim again.
    lost.apply(claimed("a", "y"));
    expect(lost.ownerOf("y")).toBeUndefined();
  });

  it("expires a lease after its own heartbeat timeout of silence, counting any of its events", () => {
    const b = book(received("a", 2_000, 1_000), claimed("a", "x"));
    const lease = b.lease("a")!;
    expect(b.isExpired(lease, 2_900)).toBe(false);
    expect(b.isExpired(lease, 3_100)).toBe(true);
    b.apply(at("a", payload("buildHeartbeat", { runningJobs: 1 }), 3_000));
    expect(b.isExpired(lease, 4_900)).toBe(false);
    expect(lease).toMatchObject({ hostname: "h", pid: 7, heartbeatTimeoutMs: 2_000 });
  });

  it("tracks open job runs and who waits on whom", () => {
    const b = book(
      received("a"),
      received("w"),
      claimed("a", "x"),
      at("a", payload("jobScheduleSuccess", { task: { job: { label: "j" } }, attempt: 1 }), 1_000, "run1"),
      at("a", payload("taskLaunchSuccess", { pid: 42, hostname: "h" }), 1_000, "run1"),
      at(
        "w",
        payload("partitionDelegated", {
          partitionRef: ref("x"),
          delegateBuildRequestId: "a",
          reason: DelegationReason.IN_PROGRESS,
        }),
      ),
    );
    expect([...b.lease("a")!.openRuns.values()]).toMatchObject([{ jobRunId: "run1", launched: true, pid: 42 }]);
    expect(b.waitersOn("a", "x")).toEqual(["w"]);
    b.apply(at("w", payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_COMPLETED })));
    expect(b.waitersOn("a", "x")).toEqual([]);
  });
});
