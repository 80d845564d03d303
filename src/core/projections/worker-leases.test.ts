import { describe, expect, it } from "vitest";
import type { BuildEvent } from "../../gen/databuild_pb.ts";
import { eventPayload as payload, type EventPayload } from "../build-event.ts";
import { newEvent } from "../new-event.ts";
import { ReadModelStateError } from "../read-model.ts";
import { WorkerLeases } from "./worker-leases.ts";

const T0 = 1_700_000_000_000;
const S = 1000;
const MIN = 60 * S;

const at = (p: EventPayload, ms: number, buildRequestId = "", jobRunId = ""): BuildEvent =>
  newEvent({ buildRequestId, jobRunId }, p, ms);
const started = (
  workerId: string,
  ms: number,
  more: { slots?: number; labels?: Record<string, string>; timeoutMs?: number; hostname?: string } = {},
) =>
  at(
    payload("workerStarted", {
      workerId,
      hostname: more.hostname ?? "here",
      pid: 300,
      slots: more.slots ?? 2,
      labels: more.labels ?? {},
      heartbeatIntervalMs: 2 * S,
      heartbeatTimeoutMs: more.timeoutMs ?? 30 * S,
      version: "0.1.0",
    }),
    ms,
  );
const beat = (workerId: string, ms: number) => at(payload("workerHeartbeat", { workerId }), ms);
const stopped = (workerId: string, ms: number) => at(payload("workerStopped", { workerId, reason: "asked" }), ms);
const lost = (workerId: string, ms: number, runs: string[] = []) =>
  at(payload("workerLost", { workerId, reason: "gone", detectedBy: "b", lostJobRunIds: runs }), ms);
const taken = (workerId: string, jobRunId: string, ms: number, build = "b") =>
  at(payload("jobRunTaken", { workerId, hostname: "here" }), ms, build, jobRunId);

function leases(...events: BuildEvent[]): WorkerLeases {
  const l = new WorkerLeases();
  for (const e of events) l.apply(e);
  return l;
}

const liveIds = (l: WorkerLeases) => [...l.live()].map((w) => w.workerId);

describe("WorkerLeases", () => {
  it("records a started worker's offer and lease, copying its labels and counting 0 slots as 1", () => {
    const labels = { gpu: "true" };
    const l = leases(started("w1", T0, { slots: 4, labels }), started("w0", T0 + S, { slots: 0 }));
    labels.gpu = "false"; // the lease keeps its own copy
    expect(l.worker("w1")).toMatchObject({
      workerId: "w1",
      hostname: "here",
      pid: 300,
      slots: 4,
      labels: { gpu: "true" },
      heartbeatTimeoutMs: 30 * S,
      startedMs: T0,
      lastSeenMs: T0,
      ended: false,
      lost: false,
    });
    expect(l.worker("w0")?.slots).toBe(1);
    expect(liveIds(l)).toEqual(["w1", "w0"]); // oldest first
    expect(l.worker("nobody")).toBeUndefined();
  });

  it("moves a worker's last heartbeat forward, never back, and ignores heartbeats of unknown workers", () => {
    const l = leases(started("w1", T0), beat("w1", T0 + 5 * S));
    expect(l.worker("w1")?.lastSeenMs).toBe(T0 + 5 * S);
    l.apply(beat("w1", T0 + 3 * S)); // a heartbeat stamped earlier (clock skew between appenders)
    expect(l.worker("w1")?.lastSeenMs).toBe(T0 + 5 * S);
    l.apply(beat("stranger", T0 + 6 * S));
    expect(l.worker("stranger")).toBeUndefined();
    expect(l.worker("w1")?.startedMs).toBe(T0);
  });

  it("expires a lease strictly after its own heartbeat timeout of silence", () => {
    const l = leases(started("w1", T0, { timeoutMs: 10 * S }), beat("w1", T0 + 4 * S));
    const w = l.worker("w1")!;
    expect(l.isExpired(w, T0 + 14 * S)).toBe(false); // exactly the timeout: not yet
    expect(l.isExpired(w, T0 + 14 * S + 1)).toBe(true);
    l.apply(beat("w1", T0 + 14 * S));
    expect(l.isExpired(w, T0 + 14 * S + 1)).toBe(false);
  });

  it("takes a stopped worker out of the pool for good: later heartbeats do not revive it, and it never expires", () => {
    const l = leases(started("w1", T0), started("w2", T0), stopped("w1", T0 + 2 * S));
    const w1 = l.worker("w1")!;
    expect(w1).toMatchObject({ ended: true, lost: false, lastSeenMs: T0 + 2 * S });
    expect(liveIds(l)).toEqual(["w2"]);
    l.apply(beat("w1", T0 + 3 * S));
    expect(w1.lastSeenMs).toBe(T0 + 2 * S);
    expect(liveIds(l)).toEqual(["w2"]);
    expect(l.isExpired(w1, T0 + 3600 * S)).toBe(false);
    // A later WorkerLost for it changes nothing: it stopped on its own.
    l.apply(lost("w1", T0 + 4 * S));
    expect(w1.lost).toBe(false);
  });

  it("ends a lost worker, releasing the runs it held, and refuses its later takes", () => {
    const l = leases(started("w1", T0), taken("w1", "r1", T0 + S), taken("w1", "r2", T0 + S));
    expect([...l.worker("w1")!.runs]).toEqual(["r1", "r2"]);
    l.apply(lost("w1", T0 + 40 * S, ["r1", "r2"]));
    const w1 = l.worker("w1")!;
    expect(w1).toMatchObject({ ended: true, lost: true, lastSeenMs: T0 + 40 * S });
    expect(w1.runs.size).toBe(0);
    expect(l.holderOf("r1")).toBeUndefined();
    expect(l.holderOf("r2")).toBeUndefined();
    expect(liveIds(l)).toEqual([]);
    l.apply(taken("w1", "r3", T0 + 41 * S));
    expect(l.holderOf("r3")).toBeUndefined();
    // A second declaration changes nothing.
    l.apply(lost("w1", T0 + 50 * S));
    expect(w1.lastSeenMs).toBe(T0 + 40 * S);
  });

  it("attaches a taken run to its worker once: a second take of the same run by another worker is ignored", () => {
    const l = leases(started("w1", T0), started("w2", T0), taken("w1", "r1", T0 + 3 * S));
    expect(l.holderOf("r1")?.workerId).toBe("w1");
    expect(l.worker("w1")?.lastSeenMs).toBe(T0 + 3 * S); // the take is the worker's own act
    l.apply(taken("w2", "r1", T0 + 4 * S));
    expect(l.holderOf("r1")?.workerId).toBe("w1");
    expect(l.worker("w2")?.runs.size).toBe(0);
    expect(l.worker("w2")?.lastSeenMs).toBe(T0);
    // A take by a worker never started is ignored.
    l.apply(taken("ghost", "r2", T0 + 4 * S));
    expect(l.holderOf("r2")).toBeUndefined();
  });

  it("lets go of a run when it ends, and ignores the end of a run nobody holds", () => {
    const l = leases(started("w1", T0), taken("w1", "r1", T0), taken("w1", "r2", T0));
    l.runEnded("r1");
    l.runEnded("r1");
    l.runEnded("never-taken");
    expect(l.holderOf("r1")).toBeUndefined();
    expect(l.holderOf("r2")?.workerId).toBe("w1");
    expect([...l.worker("w1")!.runs]).toEqual(["r2"]);
  });

  it("forgets an ended worker once a worker starts more than 10 minutes after its end", () => {
    const l = leases(started("w1", T0), started("w2", T0), stopped("w1", T0 + S), lost("w2", T0 + 2 * S));
    l.apply(started("w3", T0 + S + 10 * MIN)); // exactly 10 minutes after w1 stopped: kept
    expect(l.worker("w1")).toBeDefined();
    l.apply(started("w4", T0 + S + 10 * MIN + 1));
    expect(l.worker("w1")).toBeUndefined();
    expect(l.worker("w2")?.lost).toBe(true); // ended a second later: kept until then
    l.apply(started("w5", T0 + 2 * S + 10 * MIN + 1));
    expect(l.worker("w2")).toBeUndefined();
    // Live workers are never forgotten, however silent.
    l.apply(started("w6", T0 + 3600 * S));
    expect(liveIds(l)).toEqual(["w3", "w4", "w5", "w6"]);
  });

  it("gives the same answers after a saveState/restoreState round trip through structuredClone", () => {
    const events = [
      started("w1", T0, { labels: { zone: "eu" } }),
      started("w2", T0 + S),
      started("w3", T0 + S),
      taken("w1", "r1", T0 + 2 * S),
      taken("w1", "r2", T0 + 2 * S),
      taken("w2", "r3", T0 + 3 * S),
      stopped("w3", T0 + 4 * S),
      beat("w2", T0 + 5 * S),
    ];
    const whole = leases(...events);
    const restored = new WorkerLeases();
    restored.restoreState("test", structuredClone(whole.saveState()));

    const answers = (l: WorkerLeases, nowMs: number) => ({
      live: liveIds(l),
      workers: ["w1", "w2", "w3", "w4"].map((id) => l.worker(id)),
      holders: ["r1", "r2", "r3", "r4"].map((id) => l.holderOf(id)?.workerId),
      expired: [...l.live()].map((w) => l.isExpired(w, nowMs)),
    });
    expect(answers(restored, T0 + 33 * S)).toEqual(answers(whole, T0 + 33 * S));

    // The restored state is its own, and one lease object still backs both its worker and its runs.
    const more = [beat("w1", T0 + 20 * S), taken("w2", "r4", T0 + 21 * S), lost("w2", T0 + 60 * S, ["r3", "r4"])];
    for (const e of more) {
      whole.apply(e);
      restored.apply(e);
    }
    restored.runEnded("r2");
    whole.runEnded("r2");
    expect(answers(restored, T0 + 61 * S)).toEqual(answers(whole, T0 + 61 * S));
    expect(restored.holderOf("r1")).toBe(restored.worker("w1"));
    expect(restored.holderOf("r1")?.lastSeenMs).toBe(T0 + 20 * S);
    expect([...restored.worker("w1")!.runs]).toEqual(["r1"]);
    expect(restored.holderOf("r3")).toBeUndefined();
  });

  it("refuses a saved state that is not one", () => {
    const l = new WorkerLeases();
    expect(() => l.restoreState("test", null)).toThrow(ReadModelStateError);
    expect(() => l.restoreState("test", { workers: new Map() })).toThrow(/no holders/);
    expect(() => l.restoreState("test", { workers: {}, holders: new Map() })).toThrow(ReadModelStateError);
  });
});
