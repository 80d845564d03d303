import { describe, expect, it } from "vitest";
import { BuildRequestStatus, ExitCategory, PartitionStatus, type BuildEvent } from "../gen/databuild_pb.ts";
import { diagramViolations, eventsByBuild } from "../core/diagrams/diagram-paths.ts";
import { PartitionCatalog } from "../core/projections/partition-catalog.ts";
import { MemoryEventLog } from "../event-log/memory-event-log.ts";
import { defineJob as job } from "../gsl/define-job.ts";
import { FileJobs } from "../testing/file-jobs.ts";
import { gslGraph } from "../testing/gsl-graph.ts";
import { tempDir } from "../testing/run-cli.ts";
import { JobRunners } from "../wrapper/index.ts";
import { SharedViewModel } from "../coordination/index.ts";
import { buildGraph } from "./build-graph.ts";
import { DEFAULT_BUILD_REQUEST, type BuildRequest } from "./build-request.ts";

function pipeline(jobs: FileJobs, options: { failClean?: (ref: string) => boolean; ms?: number } = {}) {
  return gslGraph([
    job({ label: "raw", outputs: ["raw/{d}"], exec: jobs.exec("raw", { ms: options.ms }) }),
    job({
      label: "clean",
      outputs: ["clean/{d}"],
      config: ({ d }) => ({ inputs: [`raw/${d}`] }),
      exec: jobs.exec("clean", { ms: options.ms, fail: options.failClean }),
    }),
    job({
      label: "report",
      outputs: ["report/{w}"],
      config: ({ w }) => ({ inputs: [1, 2, 3].map((d) => `clean/${w}-${d}`) }),
      exec: jobs.exec("report", { ms: options.ms }),
    }),
  ]);
}

function request(refs: string[], overrides: Partial<BuildRequest> = {}): BuildRequest {
  return { ...DEFAULT_BUILD_REQUEST, refs, parallel: 2, requester: "test", heartbeatMs: 50, ...overrides };
}

async function allEvents(log: MemoryEventLog): Promise<BuildEvent[]> {
  return (await log.read(0)).map((l) => l.event);
}

async function catalogOf(log: MemoryEventLog): Promise<PartitionCatalog> {
  const catalog = new PartitionCatalog();
  for (const e of await log.read(0)) catalog.apply(e.event, e.offset);
  return catalog;
}

/** The shared view's snapshot equals a replay of the log up to its offset; returns that offset. */
async function expectSnapshotIsReplay(log: MemoryEventLog): Promise<number> {
  const { snapshot } = await log.snapshots.load("shared-view");
  expect(snapshot).toBeDefined();
  const replay = new SharedViewModel();
  for (const { event, offset } of await log.read(0)) if (offset <= snapshot!.offset) replay.apply(event, offset);
  expect(snapshot!.state).toEqual(replay.saveState());
  return snapshot!.offset;
}

describe("buildGraph", () => {
  it("builds every needed partition once, inputs before the jobs that read them", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    const result = await buildGraph({ graph: pipeline(jobs), log, runner: new JobRunners() }, request(["report/w"]));
    expect(result.status).toBe("completed");
    expect(result.jobsSucceeded).toBe(7);
    expect(result.partitionsBuilt).toBe(7);
    expect(new Set(jobs.built()).size).toBe(7);
    const report = jobs.runs.find((r) => r.job === "report")!;
    for (const run of jobs.runs.filter((r) => r.job === "clean"))
      expect(run.endedAt).toBeLessThanOrEqual(report.startedAt);
    const catalog = await catalogOf(log);
    expect(catalog.get("report/w")?.status).toBe(PartitionStatus.PARTITION_AVAILABLE);
    expect(catalog.available("report/w")?.inputs.map((i) => i.ref)).toEqual(["clean/w-1", "clean/w-2", "clean/w-3"]);
    expect(catalog.available("report/w")?.inputs.every((i) => i.jobRunId !== "")).toBe(true);
  });

  it("two concurrent build requests on one log build each shared partition once, the second delegating", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    const deps = { graph: pipeline(jobs, { ms: 30 }), log, runner: new JobRunners(), snapshotAfterEvents: 0 };
    const [first, second] = await Promise.all([
      buildGraph(deps, request(["report/w"])),
      buildGraph(deps, request(["clean/w-1", "clean/w-2", "clean/w-9"])),
    ]);
    expect([first.status, second.status]).toEqual(["completed", "completed"]);
    const built = jobs.built();
    expect(built.length).toBe(new Set(built).size);
    expect(new Set(built).size).toBe(9);
    expect(first.jobsSucceeded + second.jobsSucceeded).toBe(9);
    const events = await allEvents(log);
    const delegated = events.filter((e) => e.event.case === "partitionDelegated" && e.event.value.reason === 2);
    expect(delegated.length).toBeGreaterThan(0);
    for (const [, own] of eventsByBuild(events)) expect(diagramViolations(own)).toEqual([]);
    await expectSnapshotIsReplay(log);
  });

  it("leaves a snapshot of its view at its end that is exactly a replay of the log up to it", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    const deps = { graph: pipeline(jobs), log, runner: new JobRunners(), snapshotAfterEvents: 0 };
    await buildGraph(deps, request(["report/w"]));
    const offset = await expectSnapshotIsReplay(log);
    expect(offset).toBe(await log.head());
    // A build with nothing to do leaves the snapshot as it was (below the default threshold).
    await buildGraph({ ...deps, snapshotAfterEvents: undefined }, request(["report/w"]));
    expect((await log.snapshots.load("shared-view")).snapshot?.offset).toBe(offset);
    expect(await log.head()).toBeGreaterThan(offset);
  });

  it("records a valid path through the seed's diagrams", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    await buildGraph({ graph: pipeline(jobs), log, runner: new JobRunners() }, request(["report/w"]));
    for (const [, events] of eventsByBuild(await allEvents(log))) expect(diagramViolations(events)).toEqual([]);
  });

  it("does nothing the second time, recording each skip as a delegation", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    const deps = { graph: pipeline(jobs), log, runner: new JobRunners() };
    const first = await buildGraph(deps, request(["report/w"]));
    const second = await buildGraph(deps, request(["report/w", "clean/w-1"]));
    expect(second.status).toBe("completed");
    expect(second.tasksToRun).toBe(0);
    expect(second.partitionsSkipped).toBe(2);
    expect(jobs.runs).toHaveLength(7);
    const delegations = (
      await log.read(0, { buildRequestId: second.buildRequestId, kinds: ["partitionDelegated"] })
    ).map((l) => l.event.event);
    expect(delegations).toHaveLength(2);
    for (const d of delegations)
      expect(d.case === "partitionDelegated" && d.value.delegateBuildRequestId).toBe(first.buildRequestId);
  });

  it("builds only what is missing when part of the graph exists", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    const deps = { graph: pipeline(jobs), log, runner: new JobRunners() };
    await buildGraph(deps, request(["clean/w-1"]));
    jobs.runs.length = 0;
    const result = await buildGraph(deps, request(["report/w"]));
    expect(result.tasksToRun).toBe(5);
    expect(jobs.built().sort()).toEqual(["clean/w-2", "clean/w-3", "raw/w-2", "raw/w-3", "report/w"]);
  });

  it("rebuilds only the requested partitions with force", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    const deps = { graph: pipeline(jobs), log, runner: new JobRunners() };
    await buildGraph(deps, request(["report/w"]));
    jobs.runs.length = 0;
    await buildGraph(deps, request(["report/w"], { force: true }));
    expect(jobs.built()).toEqual(["report/w"]);
  });

  it("never runs more jobs at once than parallel allows", async () => {
    const jobs = new FileJobs(tempDir());
    await buildGraph(
      { graph: pipeline(jobs, { ms: 20 }), log: new MemoryEventLog(), runner: new JobRunners() },
      request(["report/w"], { parallel: 2 }),
    );
    expect(jobs.maxConcurrent).toBe(2);
  });

  it("stops on a job failure, cancelling what runs and not starting its downstream", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    const graph = pipeline(jobs, { failClean: (ref) => ref === "clean/w-1", ms: 30 });
    const result = await buildGraph({ graph, log, runner: new JobRunners() }, request(["report/w"], { parallel: 3 }));
    expect(result.status).toBe("failed");
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]!.task.job!.label).toBe("clean");
    expect(result.failures[0]!.outcome.category).toBe(ExitCategory.EXIT_JOB_FAILURE);
    expect(result.message).toContain('"clean" (clean/w-1)');
    expect(jobs.built()).not.toContain("report/w");
    const events = await allEvents(log);
    expect(diagramViolations(events)).toEqual([]);
    const kinds = events.map((e) => e.event.case);
    expect(kinds.indexOf("jobFailure")).toBeLessThan(kinds.lastIndexOf("graphBuildFail"));
    const final = events.at(-1)!.event;
    expect(final.case === "buildRequestStatusChanged" && final.value.status).toBe(
      BuildRequestStatus.BUILD_REQUEST_FAILED,
    );
    expect((await catalogOf(log)).get("clean/w-1")?.status).toBe(PartitionStatus.PARTITION_FAILED);
  });

  it("with keepGoing builds everything not downstream of the failure", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    const graph = pipeline(jobs, { failClean: (ref) => ref === "clean/a-1" });
    const result = await buildGraph(
      { graph, log, runner: new JobRunners() },
      request(["report/a", "report/b"], { keepGoing: true }),
    );
    expect(result.status).toBe("failed");
    expect(jobs.built()).toContain("report/b");
    expect(jobs.built()).toContain("clean/a-2");
    expect(jobs.built()).not.toContain("report/a");
    expect(result.blocked.map((b) => b.task.config!.outputs[0]!.str)).toEqual(["report/a"]);
    expect(result.blocked[0]!.reason).toContain('upstream job "clean" failed (clean/a-1)');
    expect(diagramViolations(await allEvents(log))).toEqual([]);
  });

  it("cancels cleanly when aborted, recording the cancellation", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const result = await buildGraph(
      { graph: pipeline(jobs, { ms: 1000 }), log, runner: new JobRunners() },
      request(["report/w"], { signal: abort.signal }),
    );
    expect(result.status).toBe("cancelled");
    const events = await allEvents(log);
    expect(diagramViolations(events)).toEqual([]);
    expect(events.some((e) => e.event.case === "jobCancels")).toBe(true);
    const cancelled = events.filter(
      (e) => e.event.case === "taskFailed" && e.event.value.category === ExitCategory.EXIT_CANCELLED,
    );
    expect(cancelled).toHaveLength(2);
    const final = events.at(-1)!.event;
    expect(final.case === "buildRequestStatusChanged" && final.value.status).toBe(
      BuildRequestStatus.BUILD_REQUEST_CANCELLED,
    );
  });

  it("plans without running or recording anything on a dry run", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    const result = await buildGraph(
      { graph: pipeline(jobs), log, runner: new JobRunners() },
      request(["report/w"], { dryRun: true }),
    );
    expect(result.status).toBe("dry-run");
    expect(result.tasksToRun).toBe(7);
    expect(jobs.runs).toHaveLength(0);
    expect(await log.head()).toBe(0);
  });

  it("reports an analysis failure as a failed build with the error", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    const result = await buildGraph({ graph: pipeline(jobs), log, runner: new JobRunners() }, request(["nothing/1"]));
    expect(result.status).toBe("failed");
    expect(result.analyzeError?.message).toContain('no job produces partition "nothing/1"');
    expect((await catalogOf(log)).get("nothing/1")?.status).toBe(PartitionStatus.PARTITION_FAILED);
    expect(diagramViolations(await allEvents(log))).toEqual([]);
  });

  it("a later planning failure replaces an earlier failure as a partition's latest word", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    const failing = await buildGraph(
      { graph: pipeline(jobs, { failClean: () => true }), log, runner: new JobRunners() },
      request(["clean/1"]),
    );
    expect(failing.status).toBe("failed");
    expect((await catalogOf(log)).get("clean/1")?.status).toBe(PartitionStatus.PARTITION_FAILED);
    const unplannable = gslGraph([
      job({
        label: "clean",
        outputs: ["clean/{d}"],
        config: () => {
          throw new Error("the catalog is down");
        },
        exec: () => {},
      }),
    ]);
    const replanned = await buildGraph({ graph: unplannable, log, runner: new JobRunners() }, request(["clean/1"]));
    expect(replanned.status).toBe("failed");
    const latest = (await catalogOf(log)).get("clean/1")!;
    expect(latest.status).toBe(PartitionStatus.PARTITION_FAILED);
    expect(latest.buildRequestId).toBe(replanned.buildRequestId);
    expect(latest.message).toContain("the catalog is down");
  });

  it("retries a job killed by a signal, up to the configured count, with a new attempt number", async () => {
    const dir = tempDir();
    // Kills itself with SIGKILL the first time, succeeds the second.
    const script = `if [ -e ${dir}/tried ]; then touch ${dir}/done; else touch ${dir}/tried; kill -9 $$; fi`;
    const graph = gslGraph([job({ label: "flaky", outputs: ["flaky/{x}"], exec: ["bash", "-c", script, "flaky"] })]);
    const log = new MemoryEventLog();
    const result = await buildGraph(
      { graph, log, runner: new JobRunners() },
      request(["flaky/1"], { retries: 1, retryBackoffMs: 10 }),
    );
    expect(result.status).toBe("completed");
    const attempts = (await log.read(0, { kinds: ["jobScheduleSuccess"] })).map(
      (l) => (l.event.event.value as { attempt: number }).attempt,
    );
    expect(attempts).toEqual([1, 2]);
    expect(diagramViolations(await allEvents(log))).toEqual([]);

    const again = await buildGraph(
      {
        graph: gslGraph([job({ label: "flaky", outputs: ["flaky/{x}"], exec: ["bash", "-c", "kill -9 $$", "flaky"] })]),
        log: new MemoryEventLog(),
        runner: new JobRunners(),
      },
      request(["flaky/1"], { retries: 2, retryBackoffMs: 10 }),
    );
    expect(again.status).toBe("failed");
    expect(again.failures[0]!.outcome.category).toBe(ExitCategory.EXIT_SIGNAL);
  });

  it("does not retry a plain non-zero exit", async () => {
    const graph = gslGraph([
      job({ label: "broken", outputs: ["broken/{x}"], exec: ["bash", "-c", "exit 4", "broken"] }),
    ]);
    const log = new MemoryEventLog();
    const result = await buildGraph(
      { graph, log, runner: new JobRunners() },
      request(["broken/1"], { retries: 3, retryBackoffMs: 10 }),
    );
    expect(result.status).toBe("failed");
    expect(await log.read(0, { kinds: ["jobScheduleSuccess"] })).toHaveLength(1);
  });

  it("emits build heartbeats while waiting on jobs", async () => {
    const jobs = new FileJobs(tempDir());
    const log = new MemoryEventLog();
    await buildGraph(
      { graph: pipeline(jobs, { ms: 120 }), log, runner: new JobRunners() },
      request(["raw/1"], { heartbeatMs: 30 }),
    );
    const heartbeats = await log.read(0, { kinds: ["buildHeartbeat"] });
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
  });
});
