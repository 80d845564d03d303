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

describe("ClaimBook and the worker pool", () => {
  const worker = (id: string, ms = 1_000) =>
    at(
      "",
      payload("workerStarted", { workerId: id, hostname: "w", pid: 300, slots: 2, heartbeatTimeoutMs: 30_000 }),
      ms,
    );
  const scheduled = (build: string, run: string, ms = 1_000) =>
    at(build, payload("jobScheduleSuccess", { task: { job: { label: "j" } }, attempt: 1 }), ms, run);
  const taken = (build: string, run: string, workerId: string, ms = 1_000) =>
    at(build, payload("jobRunTaken", { workerId, hostname: "w" }), ms, run);

  it("records the worker that took an open job run, once, and lets it go when the run ends", () => {
    const b = book(
      received("a"),
      worker("w1"),
      worker("w2"),
      scheduled("a", "r1"),
      taken("a", "r1", "w1"),
      taken("a", "r1", "w2"), // a second take of the same run is no take
    );
    expect(b.lease("a")?.openRuns.get("r1")?.workerId).toBe("w1");
    expect(b.workers.holderOf("r1")?.workerId).toBe("w1");
    expect(b.workers.worker("w2")?.runs.size).toBe(0);
    b.apply(at("a", payload("jobExecFail", { message: "failed" }), 2_000, "r1"));
    expect(b.lease("a")?.openRuns.has("r1")).toBe(false);
    expect(b.workers.holderOf("r1")).toBeUndefined();

    b.apply(scheduled("a", "r2"));
    b.apply(taken("a", "r2", "w2"));
    b.apply(at("a", payload("partitionManifest", { outputs: [ref("x")] }), 3_000, "r2"));
    expect(b.workers.holderOf("r2")).toBeUndefined();
    expect(b.workers.worker("w2")?.runs.size).toBe(0);
  });

  it("ignores a take by a worker that is not in the pool", () => {
    const b = book(
      received("a"),
      worker("w1"),
      at("", payload("workerLost", { workerId: "w1", reason: "gone" }), 2_000),
      scheduled("a", "r1"),
      taken("a", "r1", "w1", 3_000),
      scheduled("a", "r2"),
      taken("a", "r2", "ghost", 3_000),
    );
    expect(b.lease("a")?.openRuns.get("r1")?.workerId).toBeUndefined();
    expect(b.lease("a")?.openRuns.get("r2")?.workerId).toBeUndefined();
    expect(b.workers.holderOf("r1")).toBeUndefined();
  });

  it("releases the runs of a lost worker, leaving them open in their build until their job.exec ends", () => {
    const b = book(received("a"), worker("w1"), scheduled("a", "r1"), taken("a", "r1", "w1"));
    b.apply(at("", payload("workerLost", { workerId: "w1", reason: "gone", lostJobRunIds: ["r1"] }), 40_000));
    expect(b.workers.holderOf("r1")).toBeUndefined();
    expect(b.workers.worker("w1")).toMatchObject({ ended: true, lost: true });
    expect(b.lease("a")?.openRuns.get("r1")?.workerId).toBe("w1");
  });

  it("keeps worker lifecycle events out of every build request's lease", () => {
    const b = book(received("a", 30_000, 1_000), worker("w1", 5_000));
    b.apply(at("", payload("workerHeartbeat", { workerId: "w1" }), 20_000));
    expect(b.lease("a")?.lastSeenMs).toBe(1_000);
    expect(b.lease("")).toBeUndefined();
    expect(b.workers.worker("w1")?.lastSeenMs).toBe(20_000);
  });

  it("gives the same answers about workers after a saveState/restoreState round trip", () => {
    const events = [
      received("a"),
      worker("w1"),
      scheduled("a", "r1"),
      taken("a", "r1", "w1"),
      scheduled("a", "r2"),
      taken("a", "r2", "w1"),
      at("", payload("workerHeartbeat", { workerId: "w1" }), 9_000),
    ];
    const whole = book(...events);
    const restored = new ClaimBook();
    restored.restoreState(structuredClone(whole.saveState()));
    const answers = (b: ClaimBook) => ({
      runs: [...b.lease("a")!.openRuns.values()].map((r) => [r.jobRunId, r.workerId]),
      holders: ["r1", "r2"].map((r) => b.workers.holderOf(r)),
      live: [...b.workers.live()],
    });
    expect(answers(restored)).toEqual(answers(whole));
    // Still one lease per worker: a heartbeat after the restore moves the holder's lease.
    restored.apply(at("", payload("workerHeartbeat", { workerId: "w1" }), 12_000));
    expect(restored.workers.holderOf("r1")?.lastSeenMs).toBe(12_000);
    restored.apply(at("a", payload("jobExecFail", { message: "x" }), 13_000, "r1"));
    expect([...restored.workers.worker("w1")!.runs]).toEqual(["r2"]);
  });
});
