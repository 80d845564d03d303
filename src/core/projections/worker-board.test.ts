import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BuildRequestStatus, ExitCategory, type BuildEvent } from "../../gen/databuild_pb.ts";
import { eventPayload as payload, type EventPayload } from "../build-event.ts";
import { newEvent } from "../new-event.ts";
import { ReadModelStateError } from "../read-model.ts";
import { canRun, WorkerBoard, type Requirements } from "./worker-board.ts";

const T0 = 1_700_000_000_000;
const S = 1000;
const MIN = 60 * S;

const at = (p: EventPayload, ms: number, buildRequestId = "", jobRunId = ""): BuildEvent =>
  newEvent({ buildRequestId, jobRunId }, p, ms);
const started = (workerId: string, ms: number, slots = 2, labels: Record<string, string> = {}) =>
  at(
    payload("workerStarted", {
      workerId,
      hostname: `host-${workerId}`,
      pid: 300,
      slots,
      labels,
      heartbeatIntervalMs: 2 * S,
      heartbeatTimeoutMs: 30 * S,
    }),
    ms,
  );
const beat = (workerId: string, ms: number) => at(payload("workerHeartbeat", { workerId }), ms);
const stopped = (workerId: string, ms: number) => at(payload("workerStopped", { workerId, reason: "asked" }), ms);
const workerLost = (workerId: string, runs: string[], ms: number) =>
  at(payload("workerLost", { workerId, reason: "gone", detectedBy: "someone", lostJobRunIds: runs }), ms);
const offered = (
  build: string,
  run: string,
  ms: number,
  requires?: { labels?: Record<string, string>; slots?: number },
) =>
  at(
    payload("jobRunOffered", {
      request: { buildRequestId: build, jobRunId: run, task: { job: { label: "j" } }, command: ["./j"] },
      requires,
    }),
    ms,
    build,
    run,
  );
const taken = (build: string, run: string, workerId: string, ms: number) =>
  at(payload("jobRunTaken", { workerId, hostname: `host-${workerId}` }), ms, build, run);
const validated = (build: string, run: string, ms: number) => at(payload("configValidateSuccess", {}), ms, build, run);
const launched = (build: string, run: string, ms: number, pid = 900) =>
  at(payload("taskLaunchSuccess", { pid, hostname: "worker-host" }), ms, build, run);
const manifest = (build: string, run: string, ms: number) =>
  at(payload("partitionManifest", { outputs: [{ str: `out/${run}` }] }), ms, build, run);
const execFail = (build: string, run: string, ms: number) =>
  at(payload("jobExecFail", { category: ExitCategory.EXIT_JOB_FAILURE, message: "failed" }), ms, build, run);
const cancels = (build: string, runs: string[], ms: number) =>
  at(payload("jobCancels", { jobRunIds: runs, reason: "Ctrl-C" }), ms, build);
const status = (build: string, s: BuildRequestStatus, ms: number) =>
  at(payload("buildRequestStatusChanged", { status: s }), ms, build);
const buildLost = (build: string, ms: number) =>
  at(payload("buildRequestLost", { detectedByBuildRequestId: "other", reason: "gone" }), ms, build);

function board(...events: BuildEvent[]): WorkerBoard {
  const b = new WorkerBoard();
  for (const e of events) b.apply(e);
  return b;
}
const untakenIds = (b: WorkerBoard) => [...b.untaken()].map((o) => o.jobRunId);
const heldIds = (b: WorkerBoard, workerId: string) => b.heldBy(workerId).map((o) => o.jobRunId);

describe("WorkerBoard offers", () => {
  it("shows an offer on JobRunOffered, untaken, with its requirements (0 slots counting as 1)", () => {
    const b = board(
      offered("b1", "r1", T0, { labels: { gpu: "true" }, slots: 2 }),
      offered("b1", "r2", T0 + S, { slots: 0 }),
      offered("b1", "r3", T0 + 2 * S),
    );
    expect(b.offer("r1")).toMatchObject({
      jobRunId: "r1",
      buildRequestId: "b1",
      request: { jobRunId: "r1", command: ["./j"] },
      requires: { labels: { gpu: "true" }, slots: 2 },
      offeredMs: T0,
      takenBy: undefined,
      cancelled: false,
      validated: false,
      launched: false,
      failed: false,
    });
    expect(b.offer("r2")?.requires).toEqual({ labels: {}, slots: 1 });
    expect(b.offer("r3")?.requires).toEqual({ labels: {}, slots: 1 });
    expect(untakenIds(b)).toEqual(["r1", "r2", "r3"]);
  });

  it("ignores an offer without a request, and a second offer of the same run", () => {
    const b = board(
      at(payload("jobRunOffered", {}), T0, "b1", "r0"),
      offered("b1", "r1", T0),
      offered("b1", "r1", T0 + 5 * S, { slots: 3 }),
    );
    expect(b.offer("r0")).toBeUndefined();
    expect(b.offer("r1")).toMatchObject({ offeredMs: T0, requires: { slots: 1 } });
    expect(untakenIds(b)).toEqual(["r1"]);
  });

  it("lists untaken offers oldest first, leaving out the taken ones", () => {
    const b = board(
      started("w1", T0),
      offered("b1", "r1", T0),
      offered("b2", "r2", T0 + S),
      offered("b1", "r3", T0 + 2 * S),
      taken("b2", "r2", "w1", T0 + 3 * S),
      offered("b2", "r4", T0 + 4 * S),
    );
    expect(untakenIds(b)).toEqual(["r1", "r3", "r4"]);
    b.apply(taken("b1", "r1", "w1", T0 + 5 * S));
    expect(untakenIds(b)).toEqual(["r3", "r4"]);
  });

  it("gives an offer to its first taker only, and ignores takes of runs never offered", () => {
    const b = board(started("w1", T0), started("w2", T0), offered("b1", "r1", T0), taken("b1", "r1", "w1", T0 + S));
    b.apply(taken("b1", "r1", "w2", T0 + 2 * S));
    expect(b.offer("r1")?.takenBy).toBe("w1");
    expect(heldIds(b, "w1")).toEqual(["r1"]);
    expect(heldIds(b, "w2")).toEqual([]);
    expect(b.workers.holderOf("r1")?.workerId).toBe("w1");
    b.apply(taken("b1", "nope", "w2", T0 + 2 * S));
    expect(b.offer("nope")).toBeUndefined();
    expect(b.workers.holderOf("nope")).toBeUndefined();
  });

  it("follows a taken run's steps, each counting as a sign of life of its worker", () => {
    const b = board(started("w1", T0), offered("b1", "r1", T0), taken("b1", "r1", "w1", T0 + S));
    b.apply(validated("b1", "r1", T0 + 10 * S));
    expect(b.offer("r1")).toMatchObject({ validated: true, launched: false });
    expect(b.workers.worker("w1")?.lastSeenMs).toBe(T0 + 10 * S);
    b.apply(launched("b1", "r1", T0 + 20 * S, 4242));
    expect(b.offer("r1")).toMatchObject({ validated: true, launched: true, pid: 4242, hostname: "worker-host" });
    expect(b.workers.worker("w1")?.lastSeenMs).toBe(T0 + 20 * S);
    // A step of a run nobody offered changes nothing.
    b.apply(validated("b1", "other", T0 + 30 * S));
    expect(b.offer("other")).toBeUndefined();
    expect(b.workers.worker("w1")?.lastSeenMs).toBe(T0 + 20 * S);
  });

  it("marks a taken run whose path reached a failure step, so that only its jobExecFail is missing", () => {
    const fail = (run: string, p: EventPayload) => at(p, T0 + 10 * S, "b1", run);
    const b = board(
      started("w1", T0, 3),
      offered("b1", "r1", T0),
      offered("b1", "r2", T0),
      offered("b1", "r3", T0),
      offered("b1", "r4", T0),
      taken("b1", "r1", "w1", T0),
      taken("b1", "r2", "w1", T0),
      taken("b1", "r3", "w1", T0),
      taken("b1", "r4", "w1", T0),
      validated("b1", "r2", T0),
      validated("b1", "r3", T0),
      launched("b1", "r3", T0),
      validated("b1", "r4", T0),
      launched("b1", "r4", T0),
      fail("r1", payload("configValidateFail", { message: "bad" })),
      fail("r2", payload("taskLaunchFail", { message: "missing" })),
      fail("r3", payload("taskFailed", { category: ExitCategory.EXIT_JOB_FAILURE })),
      fail("r4", payload("taskSuccess", {})), // not a failure (and not a kind the board reads)
    );
    expect(["r1", "r2", "r3", "r4"].map((r) => b.offer(r)?.failed)).toEqual([true, true, true, false]);
    expect(b.workers.worker("w1")?.lastSeenMs).toBe(T0 + 10 * S); // a step of a run it holds
    b.apply(execFail("b1", "r1", T0 + 11 * S));
    expect(b.offer("r1")).toBeUndefined();
  });

  it("ends an offer, taken or not, with its partitionManifest or jobExecFail", () => {
    const b = board(
      started("w1", T0),
      offered("b1", "r1", T0),
      offered("b1", "r2", T0),
      offered("b1", "r3", T0),
      taken("b1", "r1", "w1", T0),
      taken("b1", "r2", "w1", T0),
      manifest("b1", "r1", T0 + S),
      execFail("b1", "r2", T0 + S),
      execFail("b1", "r3", T0 + S),
    );
    for (const id of ["r1", "r2", "r3"]) expect(b.offer(id), id).toBeUndefined();
    expect(untakenIds(b)).toEqual([]);
    expect(heldIds(b, "w1")).toEqual([]);
    expect(b.workers.holderOf("r1")).toBeUndefined();
    expect(b.workers.holderOf("r2")).toBeUndefined();
    expect(b.workers.worker("w1")?.runs.size).toBe(0);
  });

  it("withdraws an untaken offer its build cancels, and keeps a taken one, marked cancelled, until its run ends", () => {
    const b = board(
      started("w1", T0),
      offered("b1", "r1", T0),
      offered("b1", "r2", T0),
      offered("b1", "r3", T0),
      taken("b1", "r2", "w1", T0 + S),
      cancels("b1", ["r1", "r2", "unknown"], T0 + 2 * S),
    );
    expect(b.offer("r1")).toBeUndefined();
    expect(b.offer("r2")).toMatchObject({ takenBy: "w1", cancelled: true });
    expect(heldIds(b, "w1")).toEqual(["r2"]);
    expect(b.offer("r3")).toMatchObject({ cancelled: false });
    expect(untakenIds(b)).toEqual(["r3"]);
    b.apply(execFail("b1", "r2", T0 + 3 * S));
    expect(b.offer("r2")).toBeUndefined();
    expect(heldIds(b, "w1")).toEqual([]);
  });

  it.each([
    ["completed", status("b1", BuildRequestStatus.BUILD_REQUEST_COMPLETED, T0 + 5 * S)],
    ["failed", status("b1", BuildRequestStatus.BUILD_REQUEST_FAILED, T0 + 5 * S)],
    ["cancelled", status("b1", BuildRequestStatus.BUILD_REQUEST_CANCELLED, T0 + 5 * S)],
    ["LOST status", status("b1", BuildRequestStatus.BUILD_REQUEST_LOST, T0 + 5 * S)],
    ["declared lost", buildLost("b1", T0 + 5 * S)],
  ])("withdraws the untaken offers of a build that ended (%s), and keeps its taken ones", (_, end) => {
    const b = board(
      started("w1", T0),
      offered("b1", "r1", T0),
      offered("b1", "r2", T0),
      offered("b2", "r3", T0),
      taken("b1", "r2", "w1", T0 + S),
      end,
    );
    expect(b.offer("r1")).toBeUndefined();
    expect(b.offer("r2")).toMatchObject({ takenBy: "w1", cancelled: false });
    expect(heldIds(b, "w1")).toEqual(["r2"]);
    expect(untakenIds(b)).toEqual(["r3"]); // another build's offer stays
    b.apply(manifest("b1", "r2", T0 + 6 * S));
    expect(b.offer("r2")).toBeUndefined();
  });

  it("withdraws nothing on a status that does not end the build", () => {
    const b = board(offered("b1", "r1", T0), status("b1", BuildRequestStatus.BUILD_REQUEST_EXECUTING, T0 + S));
    expect(untakenIds(b)).toEqual(["r1"]);
  });

  it("ends the runs a WorkerLost lists, and the worker with them", () => {
    const b = board(
      started("w1", T0, 3),
      started("w2", T0),
      offered("b1", "r1", T0),
      offered("b2", "r2", T0),
      offered("b1", "r3", T0),
      taken("b1", "r1", "w1", T0),
      taken("b2", "r2", "w1", T0),
      taken("b1", "r3", "w2", T0),
      validated("b1", "r1", T0 + S),
    );
    expect(heldIds(b, "w1")).toEqual(["r1", "r2"]);
    b.apply(workerLost("w1", ["r1", "r2"], T0 + 40 * S));
    expect(b.offer("r1")).toBeUndefined();
    expect(b.offer("r2")).toBeUndefined();
    expect(heldIds(b, "w1")).toEqual([]);
    expect(b.workers.worker("w1")).toMatchObject({ ended: true, lost: true });
    expect(b.offer("r3")?.takenBy).toBe("w2");
    expect(heldIds(b, "w2")).toEqual(["r3"]);
    // The lost runs' own job.exec ends that follow change nothing more.
    b.apply(execFail("b1", "r1", T0 + 40 * S));
    expect(heldIds(b, "w2")).toEqual(["r3"]);
    expect([...b.workers.live()].map((w) => w.workerId)).toEqual(["w2"]);
  });

  it("lists what a worker holds in the order it took them, and nothing for a stopped or unknown worker", () => {
    const b = board(
      started("w1", T0, 4),
      started("w2", T0),
      offered("b1", "r1", T0),
      offered("b1", "r2", T0),
      offered("b1", "r3", T0),
      taken("b1", "r3", "w1", T0),
      taken("b1", "r1", "w1", T0),
      stopped("w2", T0 + S),
    );
    expect(heldIds(b, "w1")).toEqual(["r3", "r1"]);
    expect(heldIds(b, "w2")).toEqual([]);
    expect(heldIds(b, "nobody")).toEqual([]);
  });
});

describe("canRun", () => {
  const needs = (labels: Record<string, string>, slots = 1): Requirements => ({ labels, slots });

  it("needs every required label with its value; other labels do not matter", () => {
    expect(canRun(needs({}), {}, 1)).toBe(true);
    expect(canRun(needs({ gpu: "true" }), { gpu: "true", zone: "eu" }, 1)).toBe(true);
    expect(canRun(needs({ gpu: "true", zone: "eu" }), { gpu: "true" }, 1)).toBe(false);
    expect(canRun(needs({ gpu: "true" }), { gpu: "false" }, 1)).toBe(false);
    expect(canRun(needs({ gpu: "" }), {}, 1)).toBe(false); // an empty value is still a value to have
    expect(canRun(needs({ toString: "x" }), {}, 1)).toBe(false); // no label comes from Object.prototype
  });

  it("needs as many free slots as the job takes", () => {
    expect(canRun(needs({}, 2), {}, 1)).toBe(false);
    expect(canRun(needs({}, 2), {}, 2)).toBe(true);
    expect(canRun(needs({}, 1), {}, 0)).toBe(false);
    expect(canRun(needs({ gpu: "true" }, 3), { gpu: "true" }, 2)).toBe(false);
  });
});

describe("WorkerBoard snapshots", () => {
  it("refuses a saved state that is not one", () => {
    expect(() => new WorkerBoard().restoreState(undefined)).toThrow(ReadModelStateError);
    expect(() => new WorkerBoard().restoreState({ workers: {}, offers: new Map(), byBuild: new Map() })).toThrow(
      ReadModelStateError,
    );
  });

  /** Every answer the board gives, as plain data. */
  const answers = (b: WorkerBoard, nowMs: number) => {
    const runs = RUNS.flatMap((r) => [r, `${r}'`]);
    return {
      offers: runs.map((r) => b.offer(r)),
      untaken: untakenIds(b),
      heldBy: WORKERS.map((w) => heldIds(b, w)),
      workers: WORKERS.map((w) => b.workers.worker(w)),
      // The whole lease: a restored holder that is a copy of its worker's lease would drift from it.
      holders: runs.map((r) => b.workers.holderOf(r)),
      live: [...b.workers.live()].map((w) => [w.workerId, b.workers.isExpired(w, nowMs)]),
    };
  };

  it("folds any sequence of its events to the same board whether or not a snapshot is taken along the way", () => {
    fc.assert(
      fc.property(fc.array(randomEvent, { maxLength: 80, size: "max" }), fc.nat(), (steps, cut) => {
        const events = timed(steps);
        const split = events.length === 0 ? 0 : cut % (events.length + 1);
        const whole = board(...events);

        const before = board(...events.slice(0, split));
        const saved = structuredClone(before.saveState()); // as a V8 snapshot would copy it
        before.apply(started("late", T0)); // the live board moving on does not touch the snapshot
        const resumed = new WorkerBoard();
        resumed.restoreState(saved);
        for (const e of events.slice(split)) resumed.apply(e);

        const nowMs = events.length === 0 ? T0 : Number(events[events.length - 1]!.timestamp!.seconds) * 1000 + 15 * S;
        expect(answers(resumed, nowMs)).toEqual(answers(whole, nowMs));
        expect(structuredClone(resumed.saveState())).toEqual(structuredClone(whole.saveState()));
      }),
      { numRuns: 300 },
    );
  });
});

const WORKERS = ["w0", "w1", "w2"] as const;
const RUNS = ["r0", "r1", "r2", "r3", "r4", "r5"] as const;
const buildOf = (run: number) => `b${run % 2}`;

interface Step {
  readonly dtMs: number;
  readonly kind: number;
  readonly w: (typeof WORKERS)[number];
  readonly run: number;
  readonly some: readonly string[];
  readonly n: number;
}

/** One event of any kind the board reads, about a few workers, runs and builds, in no particular order. */
const randomEvent: fc.Arbitrary<Step> = fc.record({
  // Mostly seconds apart; now and then long enough for ended workers to be forgotten.
  dtMs: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 5 * S }), weight: 6 }, fc.integer({ min: 0, max: 12 * MIN })),
  // Kinds weighted so that offers are often taken and followed before they end.
  kind: fc.constantFrom(0, 0, 1, 1, 2, 3, 4, 4, 4, 5, 5, 5, 5, 5, 6, 7, 7, 8, 8, 9, 10, 11, 12, 13, 14),
  w: fc.constantFrom(...WORKERS),
  run: fc.integer({ min: 0, max: RUNS.length - 1 }),
  some: fc.subarray([...RUNS]),
  n: fc.integer({ min: 0, max: 3 }),
});

function toEvent({ kind, w, run, some, n }: Step, ms: number): BuildEvent {
  const r = RUNS[run]!;
  const b = buildOf(run);
  switch (kind) {
    case 0:
      return started(w, ms, n, n % 2 === 0 ? {} : { gpu: "true" });
    case 1:
      return beat(w, ms);
    case 2:
      return stopped(w, ms);
    case 3:
      return workerLost(w, [...some], ms);
    case 4:
      return offered(b, r, ms, { slots: n, labels: n === 3 ? { gpu: "true" } : {} });
    case 5:
      return taken(b, r, w, ms);
    case 6:
      return cancels(b, [...some], ms);
    case 7:
      return validated(b, r, ms);
    case 8:
      return launched(b, r, ms, 1000 + n);
    case 9:
      return manifest(b, r, ms);
    case 10:
      return execFail(b, r, ms);
    case 11: {
      const statuses = [
        BuildRequestStatus.BUILD_REQUEST_EXECUTING,
        BuildRequestStatus.BUILD_REQUEST_COMPLETED,
        BuildRequestStatus.BUILD_REQUEST_FAILED,
        BuildRequestStatus.BUILD_REQUEST_CANCELLED,
      ];
      return status(b, statuses[n]!, ms);
    }
    case 12:
      return buildLost(b, ms);
    case 14: {
      const fails = [
        payload("configValidateFail", {}),
        payload("taskLaunchFail", {}),
        payload("taskFailed", {}),
        payload("taskSuccess", {}),
      ];
      return at(fails[n]!, ms, b, r);
    }
    default:
      return offered(b, `${r}'`, ms); // a retry of the run, under another id
  }
}

function timed(steps: readonly Step[]): BuildEvent[] {
  let ms = T0;
  return steps.map((step) => toEvent(step, (ms += step.dtMs)));
}
