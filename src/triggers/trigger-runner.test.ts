/**
 * The trigger runner on real logs (SQLite and PostgreSQL: LOG_BACKENDS):
 * several runners (replicas) on one log racing, restarts and catch-up,
 * pause and resume, NOTHING_TO_DO, eager and function sensors. The clock is
 * the test's; evaluations are started by the test (`evaluateOnce`), so no
 * assertion depends on timing. Builds that must really run go through
 * buildGraph with in-process jobs.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it } from "vitest";
import { TriggerOutcome, type BuildEvent, type TriggerTick } from "../gen/databuild_pb.ts";
import type { EventLog } from "../core/event-log.ts";
import type { Graph } from "../core/graph.ts";
import { buildGraph } from "../executor/build-graph.ts";
import { DEFAULT_BUILD_REQUEST, type BuildRequest } from "../executor/build-request.ts";
import { defineGraph, toGraph } from "../gsl/define-graph.ts";
import { defineJob } from "../gsl/define-job.ts";
import { defineSchedule, defineSensor, type DefinedTrigger } from "../gsl/define-trigger.ts";
import { FileJobs } from "../testing/file-jobs.ts";
import { LOG_BACKENDS } from "../testing/log-backends.ts";
import { tempDir } from "../testing/run-cli.ts";
import { JobRunners } from "../wrapper/index.ts";
import { loadTriggerBook, setTriggerPaused, TriggerRunner, triggerViews, UnknownTriggerError } from "./index.ts";

const T0 = Date.parse("2024-05-01T10:00:00.250Z");

class Clock {
  ms = T0;
  readonly now = () => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

function graphWith(jobs: FileJobs, triggers: readonly DefinedTrigger[]): Graph {
  return toGraph(
    defineGraph({
      label: "triggers_test",
      jobs: [
        defineJob({ label: "left", outputs: ["left/{d}"], exec: jobs.exec("left") }),
        defineJob({ label: "right", outputs: ["right/{d}"], exec: jobs.exec("right") }),
        defineJob({
          label: "joined",
          outputs: ["joined/{d}"],
          config: ({ d }) => ({ inputs: [`left/${d}`, `right/${d}`] }),
          exec: jobs.exec("joined"),
        }),
      ],
      triggers,
    }),
    { baseDir: jobs.dir },
  );
}

const everySecond = defineSchedule({
  name: "every_second",
  cron: "* * * * * *",
  partitions: (tick) => [`left/t${tick.getTime()}`],
  catchUp: 3,
});

function request(refs: readonly string[], overrides: Partial<BuildRequest> = {}): BuildRequest {
  return { ...DEFAULT_BUILD_REQUEST, refs, parallel: 2, requester: "trigger-test", heartbeatMs: 50, ...overrides };
}

const opened: EventLog[] = [];
const runners: TriggerRunner[] = [];
afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop();
  for (const log of opened.splice(0)) await log.close();
});

async function events(log: EventLog): Promise<BuildEvent[]> {
  return (await log.read(0)).map((l) => l.event);
}

function ticksOf(all: readonly BuildEvent[]): (TriggerTick & { buildRequestId: string })[] {
  return all.flatMap((e) =>
    e.event.case === "triggerTick" ? [{ ...e.event.value, buildRequestId: e.buildRequestId }] : [],
  );
}

describe.each(LOG_BACKENDS)("trigger runner on $name", (backend) => {
  async function freshLogs(n: number): Promise<{ logs: EventLog[]; dir: string }> {
    const dir = tempDir();
    const location = await backend.freshLocation(dir);
    const logs: EventLog[] = [];
    for (let i = 0; i < n; i++) logs.push(await backend.open(location));
    opened.push(...logs);
    return { logs, dir };
  }

  /** A runner that records the builds it would start (and runs them when `run` is given). */
  function runner(
    log: EventLog,
    graph: Graph,
    clock: Clock,
    replicaId: string,
    started: BuildRequest[],
    run?: (request: BuildRequest) => Promise<unknown>,
  ): TriggerRunner {
    const builds: Promise<unknown>[] = [];
    const made = new TriggerRunner({
      log,
      graph,
      replicaId,
      now: clock.now,
      pollMs: 3_600_000, // the test evaluates
      requestFor: (refs) => request(refs),
      startBuild: (r) => {
        started.push(r);
        if (run) builds.push(run(r));
      },
    });
    runners.push(made);
    (made as unknown as { builds: Promise<unknown>[] }).builds = builds;
    return made;
  }
  const buildsOf = (r: TriggerRunner) => Promise.all((r as unknown as { builds: Promise<unknown>[] }).builds);

  it("makes one TriggerTick and one BuildRequestReceived per tick with three runners racing", async () => {
    const { logs, dir } = await freshLogs(3);
    const graph = graphWith(new FileJobs(dir), [everySecond]);
    const clock = new Clock();
    const started: BuildRequest[] = [];
    const replicas = logs.map((log, i) => runner(log, graph, clock, `replica-${i}`, started));
    await Promise.all(replicas.map((r) => r.start()));
    for (let i = 0; i < 8; i++) {
      clock.advance(1);
      await Promise.all(replicas.map((r) => r.evaluateOnce()));
    }
    const all = await events(logs[0]!);
    const ticks = ticksOf(all);
    expect(ticks).toHaveLength(8);
    expect(new Set(ticks.map((t) => t.tickKey)).size).toBe(8);
    expect(ticks.every((t) => t.outcome === TriggerOutcome.TRIGGER_REQUESTED)).toBe(true);
    const received = all.filter((e) => e.event.case === "buildRequestReceived");
    expect(received).toHaveLength(8);
    for (const tick of ticks) {
      const build = received.find((e) => e.buildRequestId === tick.buildRequestId);
      expect(build?.event.value).toMatchObject({ origin: "trigger", trigger: "every_second" });
      const asked = (build!.event.value as { requestedPartitions: { str: string }[] }).requestedPartitions;
      expect(asked.map((p) => p.str)).toEqual(tick.partitions.map((p) => p.str));
    }
    // Each claimed tick started one build, in whichever replica claimed it.
    expect(started).toHaveLength(8);
    expect(new Set(started.map((s) => s.buildRequestId))).toEqual(new Set(ticks.map((t) => t.buildRequestId)));
    expect(started.every((s) => s.receivedRecorded && s.received?.origin === "trigger")).toBe(true);
    // The BuildRequestReceived precedes its TriggerTick (a build's events start with it).
    const firstOf = (id: string) => all.find((e) => e.buildRequestId === id)!.event.case;
    expect(ticks.every((t) => firstOf(t.buildRequestId) === "buildRequestReceived")).toBe(true);
  });

  it("does not re-fire claimed ticks after a restart, catches up the newest missed ones and records older ones as MISSED once", async () => {
    const { logs, dir } = await freshLogs(1);
    const log = logs[0]!;
    const graph = graphWith(new FileJobs(dir), [everySecond]);
    const clock = new Clock();
    const started: BuildRequest[] = [];
    const first = runner(log, graph, clock, "a", started);
    await first.start();
    clock.advance(1);
    await first.evaluateOnce();
    clock.advance(1);
    await first.evaluateOnce();
    await first.stop();
    expect(ticksOf(await events(log))).toHaveLength(2);

    // No service for 10 ticks; two replicas start at once.
    clock.advance(10);
    const again = [runner(log, graph, clock, "b", started), runner(log, graph, clock, "c", started)];
    await Promise.all(again.map((r) => r.start()));
    const ticks = ticksOf(await events(log));
    expect(ticks.map((t) => TriggerOutcome[t.outcome])).toEqual([
      "TRIGGER_REQUESTED",
      "TRIGGER_REQUESTED",
      "TRIGGER_MISSED",
      "TRIGGER_REQUESTED",
      "TRIGGER_REQUESTED",
      "TRIGGER_REQUESTED",
    ]);
    const missed = ticks[2]!;
    const second = Date.parse(ticks[1]!.tickKey);
    expect(missed.message).toBe(
      `the ticks from ${new Date(second + 1000).toISOString()} to ${new Date(second + 7000).toISOString()} were missed (past the catch-up limit of 3)`,
    );
    expect(missed.buildRequestId).toBe("");
    expect(ticks.slice(3).map((t) => t.tickKey)).toEqual(
      [8, 9, 10].map((n) => new Date(second + n * 1000).toISOString()),
    );
    expect(started).toHaveLength(5);

    // A third start with nothing due records nothing.
    for (const r of again) await r.stop();
    const third = runner(log, graph, clock, "d", started);
    await third.start();
    expect(ticksOf(await events(log))).toHaveLength(6);
    const [view] = triggerViews(graph, await loadTriggerBook(log), clock.ms);
    expect(view).toMatchObject({ name: "every_second", kind: "schedule", cron: "* * * * * *", timeZone: "UTC" });
    expect(view!.lastOutcome).toBe(TriggerOutcome.TRIGGER_REQUESTED);
    expect(timestampMs(view!.nextTick!)).toBe(second + 11_000);
  });

  it("records PAUSED_AT_TICK while paused and requests again once resumed", async () => {
    const { logs, dir } = await freshLogs(1);
    const log = logs[0]!;
    const graph = graphWith(new FileJobs(dir), [everySecond]);
    const clock = new Clock();
    const started: BuildRequest[] = [];
    const r = runner(log, graph, clock, "a", started);
    await r.start();
    const paused = await setTriggerPaused(log, graph, "every_second", true, "alice@host");
    expect(paused.paused).toBe(true);
    // Pausing twice records one event.
    await setTriggerPaused(log, graph, "every_second", true, "alice@host");
    clock.advance(1);
    await r.evaluateOnce();
    await setTriggerPaused(log, graph, "every_second", false, "bob@host");
    clock.advance(1);
    await r.evaluateOnce();
    const all = await events(log);
    expect(all.filter((e) => e.event.case === "triggerPaused").map((e) => e.event.value)).toMatchObject([
      { trigger: "every_second", by: "alice@host" },
    ]);
    expect(all.filter((e) => e.event.case === "triggerResumed")).toHaveLength(1);
    const ticks = ticksOf(all);
    expect(ticks.map((t) => [TriggerOutcome[t.outcome], t.message])).toEqual([
      ["TRIGGER_PAUSED_AT_TICK", "paused by alice@host"],
      ["TRIGGER_REQUESTED", ""],
    ]);
    expect(started).toHaveLength(1);
    await expect(setTriggerPaused(log, graph, "nightly", true, "x")).rejects.toThrow(
      new UnknownTriggerError("nightly", ["every_second"]),
    );
  });

  it("records NOTHING_TO_DO for a tick whose partitions are all available", async () => {
    const { logs, dir } = await freshLogs(1);
    const log = logs[0]!;
    const jobs = new FileJobs(dir);
    const fixed = defineSchedule({ name: "fixed", cron: "* * * * * *", partitions: ["left/fixed"] });
    const graph = graphWith(jobs, [fixed]);
    const clock = new Clock();
    const started: BuildRequest[] = [];
    const run = (r: BuildRequest) => buildGraph({ graph, log, runner: new JobRunners() }, r);
    const r = runner(log, graph, clock, "a", started, run);
    await r.start();
    clock.advance(1);
    await r.evaluateOnce();
    const [result] = (await buildsOf(r)) as { status: string }[];
    expect(result!.status).toBe("completed");
    clock.advance(1);
    await r.evaluateOnce();
    const ticks = ticksOf(await events(log));
    expect(ticks.map((t) => TriggerOutcome[t.outcome])).toEqual(["TRIGGER_REQUESTED", "TRIGGER_NOTHING_TO_DO"]);
    expect(ticks[1]!.message).toBe("every partition is available");
    expect(jobs.built()).toEqual(["left/fixed"]);
  });

  it("fires an eager sensor once all inputs of a partition are available, once per set of inputs", async () => {
    const { logs, dir } = await freshLogs(2);
    const [log, other] = logs as [EventLog, EventLog];
    const jobs = new FileJobs(dir);
    const eager = defineSensor({ name: "join_when_ready", eager: "joined/{d}", on: ["left/{d}", "right/{d}"] });
    const graph = graphWith(jobs, [eager]);
    const clock = new Clock();
    const started: BuildRequest[] = [];
    const build = (refs: string[], force = false) =>
      buildGraph({ graph, log, runner: new JobRunners() }, request(refs, { force }));
    const run = (r: BuildRequest) => buildGraph({ graph, log, runner: new JobRunners() }, r);
    const replicas = [runner(log, graph, clock, "a", started, run), runner(other, graph, clock, "b", started, run)];
    await Promise.all(replicas.map((r) => r.start()));
    const evaluate = () => Promise.all(replicas.map((r) => r.evaluateOnce()));

    await build(["left/1"]);
    await evaluate();
    // One input of joined/1 is missing: nothing is recorded.
    expect(ticksOf(await events(log))).toHaveLength(0);

    await build(["right/1"]);
    await evaluate();
    let ticks = ticksOf(await events(log));
    expect(ticks).toHaveLength(1);
    expect(ticks[0]!.outcome).toBe(TriggerOutcome.TRIGGER_REQUESTED);
    expect(ticks[0]!.partitions.map((p) => p.str)).toEqual(["joined/1"]);
    expect(ticks[0]!.tickKey).toMatch(/^joined\/1 <- left\/1@\S+ right\/1@\S+$/);
    await Promise.all(replicas.map(buildsOf));
    expect(jobs.built()).toEqual(["left/1", "right/1", "joined/1"]);

    // The same inputs never fire twice, in any replica, after a restart too.
    await evaluate();
    for (const r of replicas) await r.stop();
    const restarted = runner(log, graph, clock, "c", started, run);
    await restarted.start();
    await restarted.evaluateOnce();
    expect(ticksOf(await events(log))).toHaveLength(1);

    // A rebuilt input fires again, with the new job run in its key.
    await build(["left/1"], true);
    await restarted.evaluateOnce();
    ticks = ticksOf(await events(log));
    expect(ticks).toHaveLength(2);
    expect(ticks[1]!.tickKey).not.toBe(ticks[0]!.tickKey);
    await buildsOf(restarted);
    expect(jobs.built().filter((ref) => ref === "joined/1")).toHaveLength(2);
    await restarted.evaluateOnce();
    expect(ticksOf(await events(log))).toHaveLength(2);
  });

  it("fires a function sensor for each new key it returns", async () => {
    const { logs, dir } = await freshLogs(1);
    const log = logs[0]!;
    const jobs = new FileJobs(dir);
    const seen: { now: number; last?: string }[] = [];
    const sensor = defineSensor({
      name: "when_right_lands",
      description: "left/d when right/d is available",
      evaluate: (ctx) => {
        seen.push({ now: ctx.now.getTime(), last: ctx.lastFiring?.key });
        if (!ctx.isAvailable("right/7")) return undefined;
        return { key: `right/7@${ctx.partition("right/7")!.builtByJobRun}`, partitions: ["left/7"] };
      },
    });
    const graph = graphWith(jobs, [sensor]);
    const clock = new Clock();
    const started: BuildRequest[] = [];
    const r = runner(log, graph, clock, "a", started);
    await r.start();
    expect(ticksOf(await events(log))).toHaveLength(0);
    await buildGraph({ graph, log, runner: new JobRunners() }, request(["right/7"]));
    clock.advance(1);
    await r.evaluateOnce();
    clock.advance(1);
    await r.evaluateOnce();
    const ticks = ticksOf(await events(log));
    expect(ticks).toHaveLength(1);
    expect(ticks[0]).toMatchObject({ trigger: "when_right_lands", outcome: TriggerOutcome.TRIGGER_REQUESTED });
    expect(ticks[0]!.partitions.map((p) => p.str)).toEqual(["left/7"]);
    expect(started.map((s) => s.refs)).toEqual([["left/7"]]);
    expect(seen.at(-1)).toEqual({ now: T0 + 2000, last: ticks[0]!.tickKey });
  });
});
