import { describe, expect, it } from "vitest";
import { BuildRequestStatus, ExitCategory } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import { MemoryEventLog } from "../event-log/memory-event-log.ts";
import { FakeHost, History } from "../testing/coordination-history.ts";
import { declareLost } from "./declare-lost.ts";
import { markRunningHere } from "./running-here.ts";
import { decideLost, goneBuildRequests, killLeftovers, processState, whyLost } from "./liveness.ts";
import { SharedView } from "./shared-view.ts";

const T0 = 1_700_000_000_000;
const S = 1000;
/** The holder: build request "h", process 100 on this host ("here"), a 30 s lease, holding x/1. */
const holder = (lease: { hostname?: string; pid?: number } = {}) =>
  new History().received("h", T0, { heartbeatTimeoutMs: 30 * S, ...lease }).claimed("h", ["x/1"], T0);
const running = (startedAtMs = T0 - 5 * S) => ({ exists: true, stopped: false, startedAtMs }) as const;

function lostAt(history: History, nowMs: number, host: FakeHost): string | undefined {
  const { claims } = history.view();
  return whyLost(claims, claims.lease("h")!, nowMs, host);
}

describe("whyLost", () => {
  it("never declares lost a holder on this host whose process runs and started before its request, however late its heartbeat", () => {
    const host = new FakeHost().process(100, running());
    expect(lostAt(holder(), T0 + S, host)).toBeUndefined();
    expect(lostAt(holder(), T0 + 3600 * S, host)).toBeUndefined();
  });

  it("declares a holder on this host lost at once when its process is gone", () => {
    expect(lostAt(holder(), T0 + S, new FakeHost())).toBe("its process 100 on here is gone");
  });

  it("declares a reused pid lost at once: the process with that pid started after the request", () => {
    expect(lostAt(holder(), T0 + S, new FakeHost().process(100, running(T0 + 60 * S)))).toBe(
      "its process 100 on here is gone",
    );
    // Within the slack for clock rounding, it is the process meant.
    expect(lostAt(holder(), T0 + S, new FakeHost().process(100, running(T0 + 1.5 * S)))).toBeUndefined();
  });

  it("declares a stopped process lost only once its lease runs out", () => {
    const host = new FakeHost().process(100, { exists: true, stopped: true, startedAtMs: T0 - 5 * S });
    expect(lostAt(holder(), T0 + 29 * S, host)).toBeUndefined();
    expect(lostAt(holder(), T0 + 31 * S, host)).toBe("no heartbeat for 31 s (its heartbeat timeout is 30 s)");
  });

  it("declares a holder on another host lost when its lease runs out, whatever this host says of its pid", () => {
    const host = new FakeHost().process(100, running());
    const elsewhere = holder({ hostname: "elsewhere" }).heartbeat("h", T0 + 20 * S);
    expect(lostAt(elsewhere, T0 + 49 * S, host)).toBeUndefined();
    expect(lostAt(elsewhere, T0 + 51 * S, host)).toBe("no heartbeat for 31 s (its heartbeat timeout is 30 s)");
    // Gone here means nothing for a pid on another host.
    expect(lostAt(elsewhere, T0 + 49 * S, new FakeHost())).toBeUndefined();
  });

  it("judges by the lease alone a process the host can only say exists (no /proc), and this process itself", () => {
    const noProc = new FakeHost().process(100, { exists: true });
    expect(lostAt(holder(), T0 + 29 * S, noProc)).toBeUndefined();
    expect(lostAt(holder(), T0 + 31 * S, noProc)).toMatch(/^no heartbeat/);
    const me = new FakeHost("here", 100); // the holder's pid is this process: the host is not asked
    expect(lostAt(holder(), T0 + 29 * S, me)).toBeUndefined();
    expect(lostAt(holder(), T0 + 31 * S, me)).toMatch(/^no heartbeat/);
  });

  it("never declares lost a sibling build running in this process, however late its heartbeat, but does once it stops running here", () => {
    const me = new FakeHost("here", 100);
    const done = markRunningHere("h");
    try {
      expect(lostAt(holder(), T0 + 3600 * S, me)).toBeUndefined();
      // Only this process's own: the same id held by another pid is judged as before.
      expect(lostAt(holder({ pid: 200 }), T0 + S, me)).toBe("its process 200 on here is gone");
    } finally {
      done();
    }
    expect(lostAt(holder(), T0 + 31 * S, me)).toMatch(/^no heartbeat/);
  });

  it("never declares lost a build request that has ended", () => {
    const ended = holder();
    ended.add("h", payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_COMPLETED }), T0);
    expect(lostAt(ended, T0 + 3600 * S, new FakeHost())).toBeUndefined();
  });
});

describe("processState", () => {
  it("tells gone, reused, stopped, running and unknown apart", () => {
    expect(processState({ exists: false }, T0)).toBe("gone");
    expect(processState(running(T0 + 10 * S), T0)).toBe("gone");
    expect(processState(running(T0 + 10 * S), 0)).toBe("running"); // no request time: the start proves nothing
    expect(processState({ exists: true, stopped: true }, T0)).toBe("stopped");
    expect(processState(running(), T0)).toBe("running");
    expect(processState({ exists: true }, T0)).toBe("unknown");
  });
});

describe("decideLost", () => {
  it("decides nothing for a live holder, and for a gone one the events that release its claims and fail its runs", () => {
    const history = holder().launched("h", "r1", "x/1", T0, 200);
    const view = history.view();
    expect(decideLost(view.claims, "h", "finder", T0 + S, new FakeHost().process(100, running()))).toBeUndefined();

    const lost = decideLost(view.claims, "h", "finder", T0 + S, new FakeHost())!;
    expect(lost.reason).toBe("its process 100 on here is gone");
    expect(lost.openRuns.map((r) => r.jobRunId)).toEqual(["r1"]);
    expect(lost.events.map((e) => e.event.case)).toEqual([
      "buildRequestLost",
      "taskFailed",
      "jobExecFail",
      "jobFailure",
      "partitionStatusChanged",
      "graphBuildFail",
      "buildRequestStatusChanged",
    ]);
    const failure = lost.events.find((e) => e.event.case === "jobFailure")!.event.value as { category: ExitCategory };
    expect(failure.category).toBe(ExitCategory.EXIT_LOST);
    expect(lost.events.every((e) => e.buildRequestId === "h")).toBe(true);

    view.applyAppended(
      lost.events,
      lost.events.map((_, i) => view.cursor + 1 + i),
      view.cursor + lost.events.length,
    );
    expect(view.claims.ownerOf("x/1")).toBeUndefined();
    expect(view.claims.lease("h")).toMatchObject({ ended: true, lost: true });
  });

  it("goneBuildRequests lists the gone ones except the asker", () => {
    const history = holder()
      .received("alive", T0, { pid: 101 })
      .received("me", T0, { pid: 102 })
      .received("dead", T0, { pid: 103 });
    const host = new FakeHost().process(100, running()).process(101, running());
    expect(goneBuildRequests(history.view().claims, "me", T0 + S, host).map((l) => l.buildRequestId)).toEqual(["dead"]);
  });
});

describe("killLeftovers", () => {
  it("kills a lost job run's process group only if its environment names that job run, and only on this host", () => {
    const history = holder()
      .launched("h", "r1", "x/1", T0, 200)
      .launched("h", "r2", "x/2", T0, 201)
      .launched("h", "r3", "x/3", T0, 202, "elsewhere");
    const host = new FakeHost()
      .process(200, running(), ["DATABUILD_JOB_RUN_ID=r1"])
      .process(201, running(), ["DATABUILD_JOB_RUN_ID=someone-else"]) // a reused pid
      .process(202, running(), ["DATABUILD_JOB_RUN_ID=r3"]);
    const lost = decideLost(history.view().claims, "h", "finder", T0 + S, host)!;
    killLeftovers(lost, host);
    expect(host.kills).toEqual([{ pid: 200, group: true }]);
  });

  it("kills a stopped holder that ran in-process jobs, and leaves one with command jobs only", () => {
    const stopped = { exists: true, stopped: true, startedAtMs: T0 - 5 * S } as const;
    const inProcess = holder().launched("h", "r1", "x/1", T0, 100); // its job ran in the holder's own process
    const host = new FakeHost().process(100, stopped);
    killLeftovers(decideLost(inProcess.view().claims, "h", "finder", T0 + 31 * S, host)!, host);
    expect(host.kills).toEqual([{ pid: 100, group: false }]);

    const commands = holder().launched("h", "r1", "x/1", T0, 200);
    const other = new FakeHost().process(100, stopped);
    killLeftovers(decideLost(commands.view().claims, "h", "finder", T0 + 31 * S, other)!, other);
    expect(other.kills).toEqual([]);
  });
});

describe("declareLost", () => {
  it("records a gone holder lost once, however many notice, and kills what it left running here", async () => {
    const log = new MemoryEventLog();
    await log.append(
      holder()
        .launched("h", "r1", "x/1", T0, 200)
        .events.map((e) => e.event),
    );
    const host = new FakeHost().process(200, running(), ["DATABUILD_JOB_RUN_ID=r1"]);
    const [first, second] = [new SharedView(), new SharedView()]; // two build requests noticing

    await declareLost(log, first, "a", "h", host);
    await declareLost(log, second, "b", "h", host);
    const lost = await log.read(0, { kinds: ["buildRequestLost"] });
    expect(lost.map((e) => e.event.event.value)).toMatchObject([{ detectedByBuildRequestId: "a" }]);
    expect(second.claims.lease("h")).toMatchObject({ ended: true, lost: true });
    expect(host.kills).toEqual([{ pid: 200, group: true }]);
  });
});

describe("whyLost, with job runs on workers", () => {
  /**
   * The holder "h" (process 100 here, a 30 s lease) offered its job run r1,
   * which worker w1 (process 300 on another host, a 30 s lease, started at
   * T0) took.
   */
  const onWorker = (lease: { hostname?: string } = {}) => {
    const history = holder(lease);
    history.add(
      "",
      payload("workerStarted", { workerId: "w1", hostname: "far", pid: 300, slots: 1, heartbeatTimeoutMs: 30 * S }),
      T0,
    );
    history.add("h", payload("jobScheduleSuccess", { task: { job: { label: "x" } }, attempt: 1 }), T0, "r1");
    history.add("h", payload("jobRunOffered", { request: { buildRequestId: "h", jobRunId: "r1" } }), T0, "r1");
    history.add("h", payload("jobRunTaken", { workerId: "w1", hostname: "far" }), T0, "r1");
    return history;
  };
  const workerBeat = (history: History, ms: number) =>
    history.add("", payload("workerHeartbeat", { workerId: "w1", runningJobRunIds: ["r1"] }), ms);
  const gone = new FakeHost(); // the holder's process 100 is gone here

  it("never declares lost a build whose open job run a live worker holds, even with its process gone here", () => {
    const history = onWorker();
    expect(lostAt(holder(), T0 + S, gone)).toBe("its process 100 on here is gone"); // without the worker
    expect(lostAt(history, T0 + S, gone)).toBeUndefined();
    expect(lostAt(history, T0 + 30 * S, gone)).toBeUndefined();
    const { claims } = history.view();
    expect(decideLost(claims, "h", "finder", T0 + S, gone)).toBeUndefined();
    expect(goneBuildRequests(claims, "me", T0 + S, gone)).toEqual([]);
  });

  it("keeps such a build alive as long as its worker heartbeats, however silent the build itself", () => {
    const history = onWorker({ hostname: "elsewhere" });
    for (let ms = T0 + 10 * S; ms <= T0 + 100 * S; ms += 10 * S) workerBeat(history, ms);
    expect(lostAt(history, T0 + 129 * S, gone)).toBeUndefined();
    expect(lostAt(history, T0 + 131 * S, gone)).toBe("no heartbeat for 131 s (its heartbeat timeout is 30 s)");
  });

  it("declares the build lost as before once its worker's lease runs out", () => {
    const history = onWorker();
    workerBeat(history, T0 + 5 * S);
    expect(lostAt(history, T0 + 35 * S, gone)).toBeUndefined(); // exactly the worker's timeout
    expect(lostAt(history, T0 + 35 * S + 1, gone)).toBe("its process 100 on here is gone");
    // A build whose process runs here is still never lost.
    expect(lostAt(history, T0 + 3600 * S, new FakeHost().process(100, running()))).toBeUndefined();
  });

  it("declares the build lost as before once its worker is declared lost, with its runs", () => {
    const history = onWorker();
    history.add("", payload("workerLost", { workerId: "w1", reason: "gone", lostJobRunIds: ["r1"] }), T0 + 2 * S);
    expect(lostAt(history, T0 + 3 * S, gone)).toBe("its process 100 on here is gone");
    const lost = decideLost(history.view().claims, "h", "finder", T0 + 3 * S, gone)!;
    expect(lost.openRuns.map((r) => [r.jobRunId, r.workerId])).toEqual([["r1", "w1"]]);
  });

  it("declares the build lost as before once the worker's run ended, the worker alive or not", () => {
    const history = onWorker();
    history.add("h", payload("jobExecFail", { category: ExitCategory.EXIT_JOB_FAILURE }), T0 + 2 * S, "r1");
    workerBeat(history, T0 + 3 * S);
    expect(lostAt(history, T0 + 4 * S, gone)).toBe("its process 100 on here is gone");
  });

  it("spares only the build whose run the worker holds", () => {
    const history = onWorker().received("other", T0, { pid: 101 });
    const { claims } = history.view();
    expect(goneBuildRequests(claims, "me", T0 + S, gone).map((l) => l.buildRequestId)).toEqual(["other"]);
  });
});
