import { timestampMs } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BuildRequestStatus, ExitCategory, type BuildEvent } from "../gen/databuild_pb.ts";
import { eventPayload as payload, type EventCase, type EventPayload } from "../core/build-event.ts";
import { diagramViolations, eventsByBuild } from "../core/diagrams/diagram-paths.ts";
import { newEvent } from "../core/new-event.ts";
import { canRun, WorkerBoard, type Requirements } from "../core/projections/worker-board.ts";
import { FakeHost } from "../testing/coordination-history.ts";
import {
  decideTake,
  decideWorkerLost,
  describeRequirements,
  lostRunMessage,
  whyWorkerLost,
  workerLostEvents,
  workersAbleToRun,
} from "./worker-decisions.ts";

const T0 = 1_700_000_000_000;
const S = 1000;

const at = (p: EventPayload, ms: number, buildRequestId = "", jobRunId = ""): BuildEvent =>
  newEvent({ buildRequestId, jobRunId }, p, ms);
interface WorkerInit {
  readonly hostname?: string;
  readonly pid?: number;
  readonly slots?: number;
  readonly labels?: Record<string, string>;
}
const started = (workerId: string, ms: number, w: WorkerInit = {}) =>
  at(
    payload("workerStarted", {
      workerId,
      hostname: w.hostname ?? "here",
      pid: w.pid ?? 300,
      slots: w.slots ?? 2,
      labels: w.labels ?? {},
      heartbeatIntervalMs: 2 * S,
      heartbeatTimeoutMs: 30 * S,
    }),
    ms,
  );
const beat = (workerId: string, ms: number) => at(payload("workerHeartbeat", { workerId }), ms);
const task = (run: string) => ({ job: { label: "up" }, config: { outputs: [{ str: `up/${run}` }] } });
const offered = (
  build: string,
  run: string,
  ms: number,
  requires?: { labels?: Record<string, string>; slots?: number },
) =>
  at(
    payload("jobRunOffered", { request: { buildRequestId: build, jobRunId: run, task: task(run) }, requires }),
    ms,
    build,
    run,
  );
const taken = (build: string, run: string, workerId: string, ms: number) =>
  at(payload("jobRunTaken", { workerId, hostname: "here" }), ms, build, run);

function board(...events: BuildEvent[]): WorkerBoard {
  const b = new WorkerBoard();
  for (const e of events) b.apply(e);
  return b;
}
const running = (startedAtMs = T0 - 5 * S) => ({ exists: true, stopped: false, startedAtMs }) as const;

describe("whyWorkerLost", () => {
  /** Worker w1: process 300 on `hostname`, started at T0 with a 30 s lease. */
  const lostAt = (nowMs: number, host: FakeHost, hostname = "here", ...more: BuildEvent[]) => {
    const b = board(started("w1", T0, { hostname }), ...more);
    return whyWorkerLost(b.workers, b.workers.worker("w1")!, nowMs, host);
  };

  it("declares a worker on this host lost at once when its process is gone, or its pid was reused", () => {
    expect(lostAt(T0 + S, new FakeHost())).toBe("its process 300 on here is gone");
    expect(lostAt(T0 + S, new FakeHost().process(300, running(T0 + 60 * S)))).toBe("its process 300 on here is gone");
    expect(lostAt(T0 + S, new FakeHost().process(300, running(T0 + S)))).toBeUndefined(); // within the slack
  });

  it("declares a worker on this host lost when its lease runs out even though its process runs (unlike a build request)", () => {
    const host = new FakeHost().process(300, running());
    expect(lostAt(T0 + 30 * S, host)).toBeUndefined();
    expect(lostAt(T0 + 31 * S, host)).toBe("no heartbeat for 31 s (its heartbeat timeout is 30 s)");
    const stopped = new FakeHost().process(300, { exists: true, stopped: true, startedAtMs: T0 - S });
    expect(lostAt(T0 + 29 * S, stopped)).toBeUndefined();
    expect(lostAt(T0 + 31 * S, stopped)).toMatch(/^no heartbeat for 31 s/);
  });

  it("counts the lease from the worker's last heartbeat", () => {
    const host = new FakeHost().process(300, running());
    expect(lostAt(T0 + 45 * S, host, "here", beat("w1", T0 + 20 * S))).toBeUndefined();
    expect(lostAt(T0 + 52.25 * S, host, "here", beat("w1", T0 + 20 * S))).toBe(
      "no heartbeat for 32.3 s (its heartbeat timeout is 30 s)",
    );
  });

  it("judges a worker on another host, or this very process, by its lease alone", () => {
    // Gone here means nothing for a pid on another host.
    expect(lostAt(T0 + S, new FakeHost(), "elsewhere")).toBeUndefined();
    expect(lostAt(T0 + 31 * S, new FakeHost(), "elsewhere")).toMatch(/^no heartbeat/);
    const me = new FakeHost("here", 300);
    expect(lostAt(T0 + S, me)).toBeUndefined();
    expect(lostAt(T0 + 31 * S, me)).toMatch(/^no heartbeat/);
  });

  it("never declares lost a worker that ended, stopped or already lost", () => {
    const stop = at(payload("workerStopped", { workerId: "w1", reason: "asked" }), T0 + S);
    const lost = at(payload("workerLost", { workerId: "w1", reason: "gone" }), T0 + S);
    expect(lostAt(T0 + 3600 * S, new FakeHost(), "here", stop)).toBeUndefined();
    expect(lostAt(T0 + 3600 * S, new FakeHost(), "here", lost)).toBeUndefined();
  });
});

describe("decideTake", () => {
  const gpu2: Requirements = { labels: { gpu: "true" }, slots: 2 };
  const setup = (...more: BuildEvent[]) =>
    board(
      started("w1", T0, { slots: 4, labels: { gpu: "true" } }),
      started("w2", T0, { slots: 4 }),
      offered("b1", "r1", T0, gpu2),
      offered("b1", "r2", T0),
      ...more,
    );

  it("gives an untaken offer a JobRunTaken in the offer's build request and job run", () => {
    const b = setup();
    const decision = decideTake(b, "w1", "host-1", "r1", 2, T0 + 5 * S);
    expect("event" in decision).toBe(true);
    const event = "event" in decision ? decision.event : undefined;
    expect(event).toMatchObject({ buildRequestId: "b1", jobRunId: "r1" });
    expect(event?.event).toMatchObject({ case: "jobRunTaken", value: { workerId: "w1", hostname: "host-1" } });
    expect(timestampMs(event!.timestamp!)).toBe(T0 + 5 * S);
    // Applied, the run is the worker's, and the offer cannot be taken again.
    b.apply(event!);
    expect(b.offer("r1")?.takenBy).toBe("w1");
    expect(b.heldBy("w1").map((o) => o.jobRunId)).toEqual(["r1"]);
    expect(decideTake(b, "w2", "host-2", "r1", 4, T0 + 6 * S)).toEqual({ refused: "worker w1 took it" });
    expect(decideTake(b, "w1", "host-1", "r1", 4, T0 + 6 * S)).toEqual({ refused: "worker w1 took it" });
  });

  it("refuses an offer that ended: run, withdrawn with its build request, cancelled before a take, or never made", () => {
    const ended = { refused: "the offer ended (its build request withdrew it, or it was lost)" };
    const manifest = at(payload("partitionManifest", {}), T0 + S, "b1", "r2");
    expect(decideTake(setup(manifest), "w2", "h", "r2", 4, T0 + 2 * S)).toEqual(ended);
    const done = at(
      payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_FAILED }),
      T0 + S,
      "b1",
    );
    expect(decideTake(setup(done), "w2", "h", "r2", 4, T0 + 2 * S)).toEqual(ended);
    const cancel = at(payload("jobCancels", { jobRunIds: ["r2"] }), T0 + S, "b1");
    expect(decideTake(setup(cancel), "w2", "h", "r2", 4, T0 + 2 * S)).toEqual(ended);
    expect(decideTake(setup(), "w2", "h", "nope", 4, T0 + 2 * S)).toEqual(ended);
  });

  it("refuses an offer marked cancelled", () => {
    // The board withdraws an untaken offer its build cancels, so this guard only sees an offer changed under it.
    const b = setup();
    b.offer("r2")!.cancelled = true;
    expect(decideTake(b, "w2", "h", "r2", 4, T0 + S)).toEqual({ refused: "its build request cancelled it" });
  });

  it("refuses a worker out of the pool: lost, stopped or never started", () => {
    const lost = at(payload("workerLost", { workerId: "w2", reason: "gone" }), T0 + S);
    const stopped = at(payload("workerStopped", { workerId: "w2" }), T0 + S);
    const out = { refused: "worker w2 is not in the pool (declared lost?)" };
    expect(decideTake(setup(lost), "w2", "h", "r2", 4, T0 + 2 * S)).toEqual(out);
    expect(decideTake(setup(stopped), "w2", "h", "r2", 4, T0 + 2 * S)).toEqual(out);
    expect(decideTake(setup(), "w9", "h", "r2", 4, T0 + 2 * S)).toEqual({
      refused: "worker w9 is not in the pool (declared lost?)",
    });
  });

  it("refuses a worker that lacks the labels, or the free slots, the job needs", () => {
    const lacks = { refused: "the job needs labels or slots this worker lacks" };
    expect(decideTake(setup(), "w2", "h", "r1", 4, T0 + S)).toEqual(lacks); // no gpu label
    expect(decideTake(setup(), "w1", "h", "r1", 1, T0 + S)).toEqual(lacks); // 2 slots needed, 1 free
    expect(decideTake(setup(), "w1", "h", "r2", 0, T0 + S)).toEqual(lacks);
    expect("event" in decideTake(setup(), "w1", "h", "r1", 2, T0 + S)).toBe(true);
    const wrongValue = board(started("w3", T0, { labels: { gpu: "false" } }), offered("b1", "r1", T0, gpu2));
    expect(decideTake(wrongValue, "w3", "h", "r1", 2, T0 + S)).toEqual(lacks);
  });
});

describe("decideWorkerLost and workerLostEvents", () => {
  /**
   * Worker w1 (process 300 on "there", 3 slots) holds three runs: b1's r1
   * (launched, with a heartbeat and a log entry), b1's r2 (config validated)
   * and b2's r3 (taken only). Each build has planned and scheduled its run.
   */
  const history = (): BuildEvent[] => {
    const events: BuildEvent[] = [started("w1", T0, { hostname: "there", slots: 3 })];
    const build = (id: string) => {
      events.push(
        at(payload("buildRequestReceived", { options: { heartbeatTimeoutMs: 30 * S }, hostname: "b", pid: 7 }), T0, id),
        at(payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_PLANNING }), T0, id),
        at(payload("jobGraph", { jobGraph: { nodes: [] } }), T0, id),
        at(payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_EXECUTING }), T0, id),
      );
    };
    const run = (b: string, r: string) =>
      events.push(
        at(payload("jobScheduleSuccess", { task: task(r), attempt: 1 }), T0, b, r),
        offered(b, r, T0),
        taken(b, r, "w1", T0 + S),
      );
    build("b1");
    build("b2");
    run("b1", "r1");
    run("b1", "r2");
    run("b2", "r3");
    events.push(
      at(payload("configValidateSuccess", {}), T0 + 2 * S, "b1", "r1"),
      at(payload("taskLaunchSuccess", { pid: 9001, hostname: "there" }), T0 + 3 * S, "b1", "r1"),
      at(payload("jobHeartbeat", {}), T0 + 4 * S, "b1", "r1"),
      at(payload("logEntry", { line: "working" }), T0 + 4 * S, "b1", "r1"),
      at(payload("configValidateSuccess", {}), T0 + 5 * S, "b1", "r2"),
      beat("w1", T0 + 10 * S),
    );
    return events;
  };
  const host = new FakeHost(); // "here": w1 on "there" is judged by its lease
  const NOW = T0 + 41 * S;

  it("decides nothing while the worker may be alive, or for a worker never started", () => {
    const b = board(...history());
    expect(decideWorkerLost(b, "w1", "b1", T0 + 40 * S, host)).toBeUndefined();
    expect(decideWorkerLost(b, "nobody", "b1", NOW, host)).toBeUndefined();
  });

  it("records WorkerLost, then ends each held run's job.exec path where it was cut off, in its own build", () => {
    const b = board(...history());
    const decision = decideWorkerLost(b, "w1", "b1", NOW, host)!;
    expect(decision.reason).toBe("no heartbeat for 31 s (its heartbeat timeout is 30 s)");
    expect(decision.worker.workerId).toBe("w1");
    expect(decision.lostRuns.map((r) => r.jobRunId)).toEqual(["r1", "r2", "r3"]);
    const shape = decision.events.map((e) => [e.event.case, e.buildRequestId, e.jobRunId]);
    expect(shape).toEqual([
      ["workerLost", "", ""],
      ["taskFailed", "b1", "r1"],
      ["jobExecFail", "b1", "r1"],
      ["taskLaunchFail", "b1", "r2"],
      ["jobExecFail", "b1", "r2"],
      // r3 had no job.exec step: its build records the failure.
    ]);
    expect(decision.events.every((e) => timestampMs(e.timestamp!) === NOW)).toBe(true);

    const [lost, ...runEvents] = decision.events;
    expect(lost!.event.value).toMatchObject({
      workerId: "w1",
      reason: decision.reason,
      detectedBy: "b1",
      lostJobRunIds: ["r1", "r2", "r3"],
    });
    const lastHeartbeat = (lost!.event.value as { lastHeartbeat?: Parameters<typeof timestampMs>[0] }).lastHeartbeat;
    expect(timestampMs(lastHeartbeat!)).toBe(T0 + 10 * S);
    for (const e of runEvents) {
      const value = e.event.value as { category?: ExitCategory; message: string };
      if (e.event.case !== "taskLaunchFail") expect(value.category).toBe(ExitCategory.EXIT_LOST);
      expect(value.message).toContain(`job run ${e.jobRunId} was lost with worker w1 on there (${decision.reason})`);
    }
    expect((runEvents[0]!.event.value as { message: string }).message).toMatch(/; it ran as process 9001 on there$/);
    expect((runEvents[2]!.event.value as { message: string }).message).not.toContain("it ran as process");
  });

  it("appends, after each run's earlier events, a valid job.exec path", () => {
    const events = history();
    const b = board(...events);
    const decision = decideWorkerLost(b, "w1", "b1", NOW, host)!;
    const byBuild = eventsByBuild([...events, ...decision.events]);
    const finish = (build: string, runs: string[]) => [
      ...byBuild.get(build)!,
      ...runs.map((r) =>
        at(payload("jobFailure", { category: ExitCategory.EXIT_LOST, message: "lost" }), NOW, build, r),
      ),
      at(payload("graphBuildFail", { message: "lost" }), NOW, build),
      at(payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_FAILED }), NOW, build),
    ];
    expect(diagramViolations(finish("b1", ["r1", "r2"]))).toEqual([]);
    expect(diagramViolations(finish("b2", ["r3"]))).toEqual([]);
    // The check does look at job.exec: without the lost declaration, r1's and r2's paths are cut short.
    const cutShort = eventsByBuild(events).get("b1")!;
    expect(
      diagramViolations([...cutShort, ...finish("b1", ["r1", "r2"]).slice(cutShort.length + 5)]).filter((p) =>
        p.includes("job.exec"),
      ),
    ).toEqual(["job run r1: job.exec path VLHG is not valid", "job run r2: job.exec path V is not valid"]);
  });

  it("ends a run cut off after its failure step (v, l or F recorded, not yet its jobExecFail) with the jobExecFail alone", () => {
    // The worker's events reach the log in several appends: it may be declared lost between a failure step and the end.
    const events = history();
    const b1 = (run: string, p: EventPayload) => at(p, T0 + 6 * S, "b1", run);
    events.push(
      b1("r1", payload("taskFailed", { category: ExitCategory.EXIT_JOB_FAILURE, exitCode: 1 })),
      b1("r2", payload("taskLaunchFail", { message: "no such file" })),
      at(payload("configValidateFail", { message: "bad config" }), T0 + 6 * S, "b2", "r3"),
    );
    const b = board(...events);
    const decision = decideWorkerLost(b, "w1", "b1", NOW, host)!;
    expect(decision.events.map((e) => [e.event.case, e.jobRunId])).toEqual([
      ["workerLost", ""],
      ["jobExecFail", "r1"],
      ["jobExecFail", "r2"],
      ["jobExecFail", "r3"],
    ]);
    const byBuild = eventsByBuild([...events, ...decision.events]);
    const finish = (build: string, runs: string[]) => [
      ...byBuild.get(build)!,
      ...runs.map((r) => at(payload("jobFailure", { category: ExitCategory.EXIT_LOST }), NOW, build, r)),
      at(payload("graphBuildFail", { message: "lost" }), NOW, build),
      at(payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_FAILED }), NOW, build),
    ];
    expect(diagramViolations(finish("b1", ["r1", "r2"]))).toEqual([]);
    expect(diagramViolations(finish("b2", ["r3"]))).toEqual([]);
  });

  it("is decided once: applied to the board, the worker is out and holds nothing", () => {
    const b = board(...history());
    const decision = decideWorkerLost(b, "w1", "b1", NOW, host)!;
    for (const e of decision.events) b.apply(e);
    expect(b.workers.worker("w1")).toMatchObject({ ended: true, lost: true });
    expect(b.heldBy("w1")).toEqual([]);
    for (const r of ["r1", "r2", "r3"]) expect(b.offer(r), r).toBeUndefined();
    expect(decideWorkerLost(b, "w1", "b2", NOW + S, host)).toBeUndefined();
  });

  it("declares a worker whose process is gone on this host at once, holding nothing: just the WorkerLost", () => {
    const b = board(started("w2", T0, { hostname: "here", pid: 301 }));
    const decision = decideWorkerLost(b, "w2", "w1", T0 + S, host)!;
    expect(decision.reason).toBe("its process 301 on here is gone");
    expect(decision.events.map((e) => e.event.case)).toEqual(["workerLost"]);
    expect(decision.events[0]!.event.value).toMatchObject({ lostJobRunIds: [], detectedBy: "w1" });
  });

  it("lostRunMessage says where a launched run ran", () => {
    const b = board(started("w1", T0, { hostname: "there" }));
    const w = b.workers.worker("w1")!;
    expect(lostRunMessage({ jobRunId: "r1", launched: true, pid: 42 }, w, "why")).toBe(
      "job run r1 was lost with worker w1 on there (why); it ran as process 42 on there",
    );
    expect(lostRunMessage({ jobRunId: "r1", launched: false, pid: 0 }, w, "why")).toBe(
      "job run r1 was lost with worker w1 on there (why)",
    );
    expect(workerLostEvents(w, [], "me", "why", T0).map((e) => e.event.case)).toEqual(["workerLost"]);
  });
});

describe("workersAbleToRun", () => {
  it("lists the live workers, lease not run out, whose labels and total slots fit, oldest first", () => {
    const b = board(
      started("big", T0, { slots: 4, labels: { gpu: "true", zone: "eu" } }),
      started("small", T0, { slots: 1 }),
      started("stopped", T0, { slots: 4, labels: { gpu: "true" } }),
      started("lost", T0, { slots: 4, labels: { gpu: "true" } }),
      started("silent", T0 - 31 * S, { slots: 4, labels: { gpu: "true" } }),
      started("gpu2", T0, { slots: 2, labels: { gpu: "true" } }),
      at(payload("workerStopped", { workerId: "stopped" }), T0),
      at(payload("workerLost", { workerId: "lost" }), T0),
      offered("b1", "r1", T0),
      offered("b1", "r2", T0),
      taken("b1", "r1", "gpu2", T0),
      taken("b1", "r2", "gpu2", T0),
    );
    const ids = (requires: Requirements) => workersAbleToRun(b, requires, T0 + S).map((w) => w.workerId);
    expect(ids({ labels: {}, slots: 1 })).toEqual(["big", "small", "gpu2"]);
    // Busy or not: "could ever run" counts all of a worker's slots.
    expect(ids({ labels: { gpu: "true" }, slots: 2 })).toEqual(["big", "gpu2"]);
    expect(ids({ labels: { gpu: "true" }, slots: 3 })).toEqual(["big"]);
    expect(ids({ labels: { gpu: "true", zone: "us" }, slots: 1 })).toEqual([]);
    expect(ids({ labels: {}, slots: 5 })).toEqual([]);
    // Once its lease runs out a worker no longer counts, and one heartbeat brings it back.
    expect(workersAbleToRun(b, { labels: {}, slots: 1 }, T0 + 31 * S)).toEqual([]);
    b.apply(beat("small", T0 + 30 * S));
    expect(workersAbleToRun(b, { labels: {}, slots: 1 }, T0 + 31 * S).map((w) => w.workerId)).toEqual(["small"]);
  });
});

describe("describeRequirements", () => {
  it("puts labels and slots in words", () => {
    expect(describeRequirements({ labels: {}, slots: 1 })).toBe("nothing in particular");
    expect(describeRequirements({ labels: { gpu: "true" }, slots: 1 })).toBe("label gpu=true");
    expect(describeRequirements({ labels: { gpu: "true", zone: "eu" }, slots: 1 })).toBe("labels gpu=true, zone=eu");
    expect(describeRequirements({ labels: {}, slots: 2 })).toBe("2 slots");
    expect(describeRequirements({ labels: { gpu: "true", zone: "eu" }, slots: 3 })).toBe(
      "labels gpu=true, zone=eu, 3 slots",
    );
  });
});

/** The job.exec letters of diagram-paths.ts, for the property below. */
const EXEC: Partial<Record<EventCase, string>> = {
  configValidateFail: "v",
  configValidateSuccess: "V",
  taskLaunchFail: "l",
  taskLaunchSuccess: "L",
  taskFailed: "F",
  taskSuccess: "S",
  partitionManifest: "M",
  jobExecFail: "X",
};

describe("the pool, deciding as workers and builds do", () => {
  interface Action {
    readonly dtMs: number;
    readonly kind: number;
    readonly pick: number;
    readonly n: number;
  }
  const action: fc.Arbitrary<Action> = fc.record({
    // Mostly seconds apart; now and then a silence longer than a lease.
    dtMs: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 3 * S }), weight: 8 }, fc.integer({ min: 0, max: 40 * S })),
    kind: fc.constantFrom(0, 0, 1, 1, 2, 3, 4, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 7, 8),
    pick: fc.nat(20),
    n: fc.nat(3),
  });

  it("keeps every offer taken at most once, within its worker's slots, and ends every lost run on a valid path", () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 80, size: "max" }), fc.nat(80), (actions, cut) => {
        const b = new WorkerBoard();
        let resumed: WorkerBoard | undefined;
        // Every worker runs on "here"; some processes are gone (declared lost at once), the others run (lost when silent).
        const host = new FakeHost();
        const paths = new Map<string, string>();
        const everOffered: string[] = [];
        let now = T0;
        let workers = 0;
        let runs = 0;
        let generation = [0, 0];
        const apply = (events: readonly BuildEvent[]) => {
          for (const e of events) {
            b.apply(e);
            resumed?.apply(e);
            const letter = e.event.case && EXEC[e.event.case];
            if (letter) paths.set(e.jobRunId, (paths.get(e.jobRunId) ?? "") + letter);
          }
        };
        const join = (slots: number, labels: Record<string, string>, alive = true) => {
          workers++;
          if (alive) host.process(300 + workers, running(now - S));
          apply([started(`w${workers}`, now, { pid: 300 + workers, slots, labels })]);
        };
        join(2, {});
        join(3, { gpu: "y" });
        const live = () => [...b.workers.live()];
        const held = (workerId: string) => b.heldBy(workerId).reduce((sum, o) => sum + o.requires.slots, 0);

        actions.forEach(({ dtMs, kind, pick, n }, i) => {
          now += dtMs;
          if (i === cut) {
            resumed = new WorkerBoard();
            resumed.restoreState(structuredClone(b.saveState()));
          }
          const someWorker = live()[pick % Math.max(1, live().length)];
          const present = everOffered.map((id) => b.offer(id)).filter((o) => o !== undefined);
          const someOffer = present[pick % Math.max(1, present.length)];
          const takenOffers = present.filter((o) => o.takenBy !== undefined);
          const someTaken = takenOffers[pick % Math.max(1, takenOffers.length)];
          const build = `b${n % 2}.${generation[n % 2]}`;
          switch (kind) {
            case 0: // a worker joins
              join(n + 1, n === 2 ? { gpu: "y" } : {}, pick % 4 !== 0);
              break;
            case 1:
              if (someWorker) apply([beat(someWorker.workerId, now)]);
              break;
            case 2: // a worker holding nothing leaves
              if (someWorker && b.heldBy(someWorker.workerId).length === 0)
                apply([at(payload("workerStopped", { workerId: someWorker.workerId }), now)]);
              break;
            case 3: // someone checks the pool
              for (const worker of live()) {
                const decision = decideWorkerLost(b, worker.workerId, "finder", now, host);
                if (decision) apply(decision.events);
              }
              break;
            case 4: {
              const run = `r${++runs}`;
              everOffered.push(run);
              apply([offered(build, run, now, { slots: n, labels: n === 3 ? { gpu: "y" } : {} })]);
              break;
            }
            case 5: // a worker tries to take an untaken offer
              if (someWorker) {
                const free = someWorker.slots - held(someWorker.workerId);
                // Mostly one it can run, as a worker chooses; else any (to be refused).
                const fits = [...b.untaken()].filter((o) => canRun(o.requires, someWorker.labels, free));
                const offer = (n > 0 ? fits[pick % Math.max(1, fits.length)] : undefined) ?? someOffer;
                if (!offer) break;
                const decision = decideTake(b, someWorker.workerId, "here", offer.jobRunId, free, now);
                if ("event" in decision) apply([decision.event]);
              }
              break;
            case 6: // the worker holding an offer records its next step (each in its own append)
              if (someTaken) {
                const ev = (p: EventPayload) => at(p, now, someTaken.buildRequestId, someTaken.jobRunId);
                const path = paths.get(someTaken.jobRunId) ?? "";
                const ok = n > 0;
                if (path === "") apply([ev(payload(ok ? "configValidateSuccess" : "configValidateFail", {}))]);
                else if (path === "V")
                  apply([ev(ok ? payload("taskLaunchSuccess", { pid: 1 }) : payload("taskLaunchFail", {}))]);
                else if (path === "VL" && n < 2) apply([ev(payload("taskFailed", {}))]);
                // A success and its manifest in one append: between them no lost declaration has a valid path to record.
                else if (path === "VL") apply([ev(payload("taskSuccess", {})), ev(payload("partitionManifest", {}))]);
                else apply([ev(payload("jobExecFail", { category: ExitCategory.EXIT_JOB_FAILURE }))]); // v, Vl, VLF
              }
              break;
            case 7: // a build cancels some of its runs
              if (someOffer)
                apply([
                  at(
                    payload("jobCancels", { jobRunIds: [someOffer.jobRunId, `r${pick}`] }),
                    now,
                    someOffer.buildRequestId,
                  ),
                ]);
              break;
            default: {
              // a build ends; its next build request has another id
              const end =
                n === 0
                  ? payload("buildRequestLost", { detectedByBuildRequestId: "x" })
                  : payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_COMPLETED });
              apply([at(end, now, build)]);
              generation = n % 2 === 0 ? [generation[0]! + 1, generation[1]!] : [generation[0]!, generation[1]! + 1];
            }
          }

          // Invariants, after every step.
          for (const offer of b.untaken()) {
            expect(offer.cancelled).toBe(false);
            expect(b.workers.holderOf(offer.jobRunId)).toBeUndefined();
          }
          for (const worker of b.workers.live()) {
            const mine = b.heldBy(worker.workerId);
            expect(mine.every((o) => o.takenBy === worker.workerId)).toBe(true);
            expect(held(worker.workerId)).toBeLessThanOrEqual(worker.slots);
            for (const o of mine) expect(b.workers.holderOf(o.jobRunId)).toBe(worker);
          }
          for (const id of everOffered) {
            const offer = b.offer(id);
            if (offer?.takenBy === undefined) continue;
            // A taken offer is held by its taker, which is still in the pool.
            expect(b.workers.holderOf(id)?.workerId).toBe(offer.takenBy);
          }
        });

        for (const id of everOffered) {
          const path = paths.get(id) ?? "";
          if (b.offer(id) === undefined && path !== "") expect(path, id).toMatch(/^(?:vX|VlX|VL(?:FX|SM))$/);
          else expect(path, id).toMatch(/^(?:|v|V|Vl|VL|VLF)$/);
        }
        if (resumed) expect(structuredClone(resumed.saveState())).toEqual(structuredClone(b.saveState()));
      }),
      { numRuns: 200 },
    );
  });
});
