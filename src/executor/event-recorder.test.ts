// EventRecorder shows observers (the progress display) only what the log
// holds: an event reaches them once its batch is durable, and never when its
// append failed or was fenced off.
import { describe, expect, it } from "vitest";
import type { AtomicDecision, AtomicOutcome, EventFilter, LoggedEvent } from "../core/event-log.ts";
import { eventPayload, type EventCase } from "../core/build-event.ts";
import { diagramViolations } from "../core/diagrams/diagram-paths.ts";
import { newEvent } from "../core/new-event.ts";
import { ExitCategory, type BuildEvent } from "../gen/databuild_pb.ts";
import { MemoryEventLog } from "../event-log/memory-event-log.ts";
import { jobRunHistory } from "../testing/job-run-history.ts";
import { FunctionJobRunner } from "../wrapper/function-runner.ts";
import { makeRequest } from "../wrapper/fixtures/runs.ts";
import { EventRecorder, leanEvent } from "./event-recorder.ts";

const scope = { buildRequestId: "b1" };
const stored = async (log: MemoryEventLog) => (await log.read(0)).map((l) => l.event.eventId);
const heartbeat = () => eventPayload("buildHeartbeat", { runningJobs: 1 });

/** A log whose appends wait until released, and fail once told to. */
class ControlledLog extends MemoryEventLog {
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};
  failWith: unknown;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.open();
  }

  override async append(events: readonly BuildEvent[]): Promise<number[]> {
    await this.gate;
    if (this.failWith !== undefined) throw this.failWith;
    return super.append(events);
  }

  override async appendAtomically<T>(
    after: number,
    filter: EventFilter | undefined,
    decide: (events: readonly LoggedEvent[]) => AtomicDecision<T>,
  ): Promise<AtomicOutcome<T>> {
    await this.gate;
    if (this.failWith !== undefined) throw this.failWith;
    return super.appendAtomically(after, filter, decide);
  }
}

describe("EventRecorder", () => {
  for (const fenced of [false, true]) {
    const how = fenced ? "fenced" : "plain";

    it(`shows an event to observers only once its batch is durable (${how} appends)`, async () => {
      const log = new ControlledLog();
      const seen: string[] = [];
      const fence = fenced ? { buildRequestId: "b1", onLost: () => {} } : undefined;
      const recorder = new EventRecorder(log, [(e) => seen.push(e.eventId)], fence);
      log.hold();
      const first = recorder.emit(scope, heartbeat());
      const durable = recorder.durable();
      await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual([]); // recorded, not yet in the log
      log.release();
      await durable;
      expect(await stored(log)).toEqual([first.eventId]);
      expect(seen).toEqual([first.eventId]);
    });

    it(`never shows what a failed append did not record, nor anything after it (${how} appends)`, async () => {
      const log = new ControlledLog();
      const seen: string[] = [];
      const fence = fenced ? { buildRequestId: "b1", onLost: () => {} } : undefined;
      const recorder = new EventRecorder(log, [(e) => seen.push(e.eventId)], fence);
      const ok = recorder.emit(scope, heartbeat());
      await recorder.durable();
      const full = new Error("the disk is full");
      log.failWith = full;
      recorder.emit(scope, heartbeat());
      await expect(recorder.durable()).rejects.toBe(full);
      log.failWith = undefined;
      recorder.emit(scope, heartbeat());
      await expect(recorder.durable()).rejects.toBe(full);
      expect(recorder.appendFailure).toBe(full);
      expect(seen).toEqual([ok.eventId]);
      expect(await stored(log)).toEqual([ok.eventId]);
    });
  }

  it("shows nothing of a batch refused because this build request was declared lost", async () => {
    const log = new ControlledLog();
    const seen: string[] = [];
    const lost: string[] = [];
    const recorder = new EventRecorder(log, [(e) => seen.push(e.eventId)], {
      buildRequestId: "b1",
      onLost: (by) => lost.push(by),
    });
    const before = recorder.emit(scope, heartbeat());
    await recorder.durable();
    await log.append([newEvent(scope, eventPayload("buildRequestLost", { detectedByBuildRequestId: "b2" }))]);
    recorder.emit(scope, heartbeat());
    await recorder.durable();
    expect(lost).toEqual(["b2"]);
    expect(seen).toEqual([before.eventId]);
  });

  it("without a log (a dry run) shows events at once", () => {
    const seen: string[] = [];
    const recorder = new EventRecorder(undefined, [(e) => seen.push(e.eventId)]);
    const event = recorder.emit(scope, heartbeat());
    expect(seen).toEqual([event.eventId]);
  });

  it("records a job run's task once: in jobScheduleSuccess, not in the steps, manifest or jobFailure after it", async () => {
    const log = new MemoryEventLog();
    const seen: BuildEvent[] = [];
    const recorder = new EventRecorder(log, [(e) => seen.push(e)]);
    const runner = new FunctionJobRunner();
    const runs = [
      makeRequest([], {
        buildRequestId: "b1",
        inputManifests: [{ partitionRef: { str: "in/1" }, jobRunId: "r0", builtAt: { seconds: 1n } }],
      }),
      makeRequest([], { buildRequestId: "b1" }),
    ];
    const outcomes = [];
    for (const [i, request] of runs.entries()) {
      const run = { buildRequestId: "b1", jobRunId: request.jobRunId };
      recorder.emit(run, eventPayload("jobScheduleSuccess", { task: request.task, attempt: 1 }));
      const fn = (context: { log(line: string): void }) => {
        context.log("working");
        if (i === 1) throw new Error("no space left");
      };
      const outcome = await runner.start(request, (event) => recorder.record(event), {
        kind: "function",
        run: (_config, context) => fn(context),
      }).done;
      outcomes.push(outcome);
      if (outcome.kind === "failure")
        recorder.emit(
          run,
          eventPayload("jobFailure", { task: request.task, category: outcome.category, message: outcome.message }),
        );
    }
    await recorder.durable();
    const events = (await log.read(0)).map((l) => l.event);
    expect(seen).toEqual(events);
    const task = (kind: EventCase) =>
      events.filter((e) => e.event.case === kind).map((e) => (e.event.value as { task?: unknown }).task);
    expect(task("jobScheduleSuccess")).toEqual(runs.map((r) => r.task));
    expect(task("configValidateSuccess")).toEqual([undefined, undefined]);
    expect(task("taskLaunchSuccess")).toEqual([undefined, undefined]);
    expect(task("jobFailure")).toEqual([undefined]);
    const manifest = events.find((e) => e.event.case === "partitionManifest")!.event.value as {
      task?: { job?: unknown; config?: unknown };
      inputs: { jobRunId: string; builtAt?: unknown }[];
    };
    expect(manifest.task).toEqual({ $typeName: "databuild.v1.Task", job: runs[0]!.task!.job, config: undefined });
    expect(manifest.inputs.map((i) => [i.jobRunId, i.builtAt])).toEqual([["r0", undefined]]);
    // The runner's own record keeps what it had.
    expect(outcomes[1]).toMatchObject({ kind: "failure", category: ExitCategory.EXIT_JOB_FAILURE });
  });

  it("records events of job runs it did not schedule as they come (relayed from elsewhere)", async () => {
    const log = new MemoryEventLog();
    const recorder = new EventRecorder(log);
    const request = makeRequest([], { buildRequestId: "b1" });
    await new FunctionJobRunner().start(request, (event) => recorder.record(event), { kind: "function", run: () => {} })
      .done;
    await recorder.durable();
    const events = (await log.read(0)).map((l) => l.event);
    expect(events.find((e) => e.event.case === "configValidateSuccess")?.event.value).toMatchObject({
      task: request.task,
    });
  });

  it("turns the full form of older logs and wrappers into the lean one (apart from log batching)", () => {
    const scheduled = new Set<string>();
    const withoutLogs = (events: BuildEvent[]) => events.filter((e) => e.event.case !== "logEntry");
    const lean = withoutLogs(jobRunHistory("full")).map((e) => leanEvent(e, scheduled).event);
    expect(lean).toEqual(withoutLogs(jobRunHistory("lean")).map((e) => e.event));
    expect(scheduled.size).toBe(0);
    for (const form of ["full", "lean"] as const) expect(diagramViolations(jobRunHistory(form))).toEqual([]);
  });
});
