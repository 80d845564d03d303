/**
 * The worker's own decisions against an in-memory log, with a fake job
 * runner: races whose timing a test of real processes cannot choose.
 */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ExitCategory, JobRunRequestSchema, type BuildEvent } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import type { EventLog } from "../core/event-log.ts";
import type { JobOutcome, JobRunner } from "../core/job-runner.ts";
import { newEvent } from "../core/new-event.ts";
import { MemoryEventLog } from "../event-log/index.ts";
import { Worker } from "./worker.ts";

const BUILD = "01a20000-0000-7000-8000-000000000001";
const RUN = "01a20000-0000-7000-8000-0000000000aa";

function offer(): BuildEvent {
  const request = create(JobRunRequestSchema, {
    buildRequestId: BUILD,
    jobRunId: RUN,
    task: { job: { label: "part" }, config: { outputs: [{ str: "part/n=1" }] } },
    command: ["true"],
  });
  return newEvent(
    { buildRequestId: BUILD, jobRunId: RUN },
    payload("jobRunOffered", { request, requires: { slots: 1 } }),
  );
}

function otherWorkerTakes(): BuildEvent[] {
  const id = "01a20000-0000-7000-8000-0000000000bb";
  return [
    newEvent(
      { buildRequestId: "" },
      payload("workerStarted", {
        workerId: id,
        hostname: "elsewhere",
        pid: 7,
        slots: 1,
        heartbeatIntervalMs: 200,
        heartbeatTimeoutMs: 60_000,
      }),
    ),
    newEvent({ buildRequestId: BUILD, jobRunId: RUN }, payload("jobRunTaken", { workerId: id, hostname: "elsewhere" })),
  ];
}

/** Runs nothing; records which job runs it was asked to start. */
class RecordingRunner implements JobRunner {
  readonly started: string[] = [];
  start(request: { jobRunId: string }) {
    this.started.push(request.jobRunId);
    let settle!: (outcome: JobOutcome) => void;
    const done = new Promise<JobOutcome>((resolve) => (settle = resolve));
    const cancel = (reason: string) =>
      settle({ kind: "failure", category: ExitCategory.EXIT_CANCELLED, message: reason, stderrTail: [] });
    return { done, cancel };
  }
}

/** A log whose first write lets `interloper` commit first (another process got in between), and whose watch lags. */
function withInterloper(log: MemoryEventLog, interloper: readonly BuildEvent[]): EventLog {
  let done = false;
  const first = async () => {
    if (done) return;
    done = true;
    await log.append(interloper);
  };
  return new Proxy(log, {
    get(target, name, receiver) {
      if (name === "append" || name === "appendAtomically") {
        return async (...args: unknown[]) => {
          await first();
          return (Reflect.get(target, name, receiver) as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      if (name === "watch") {
        // Deliveries lag, as a polling backend's do.
        return (after: number, listener: (events: unknown[]) => void, filter: unknown) =>
          target.watch(after, (events) => void setTimeout(() => listener(events), 100), filter as never);
      }
      const value = Reflect.get(target, name, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function oneSlotWorker(log: EventLog, runner: JobRunner): Worker {
  return new Worker(log, {
    slots: 1,
    labels: {},
    heartbeatMs: 50,
    heartbeatTimeoutMs: 60_000,
    runner,
    version: "test",
    say: () => {},
    pollIntervalMs: 5,
  });
}

describe("Worker", () => {
  it("does not take an offer another worker took just before it joined", async () => {
    const memory = new MemoryEventLog();
    await memory.append([offer()]);
    const log = withInterloper(memory, otherWorkerTakes());
    const runner = new RecordingRunner();
    const worker = oneSlotWorker(log, runner);
    const running = worker.run();
    await new Promise((resolve) => setTimeout(resolve, 300));
    worker.stopNow("test over");
    await running;
    const takes = (await memory.read(0)).filter((e) => e.event.event.case === "jobRunTaken");
    expect(takes).toHaveLength(1);
    expect(runner.started).toEqual([]);
  });

  it("takes and runs an offer no one took", async () => {
    const log = new MemoryEventLog();
    await log.append([offer()]);
    const runner = new RecordingRunner();
    const worker = oneSlotWorker(log, runner);
    const running = worker.run();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runner.started).toEqual([RUN]);
    const takes = (await log.read(0)).filter((e) => e.event.event.case === "jobRunTaken");
    expect(takes).toHaveLength(1);
    worker.drain();
    void running;
  });
});
