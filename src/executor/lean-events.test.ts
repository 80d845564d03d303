// What a job run costs to record (issue 10, "leaner events"): its task once,
// a manifest without the config, few remainingJobs; diagram paths still valid.
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { BuildEventSchema, type BuildEvent } from "../gen/databuild_pb.ts";
import { diagramViolations, eventsByBuild } from "../core/diagrams/diagram-paths.ts";
import { JobRuns } from "../core/projections/job-runs.ts";
import { MemoryEventLog } from "../event-log/memory-event-log.ts";
import { defineJob as job } from "../gsl/define-job.ts";
import { gslGraph } from "../testing/gsl-graph.ts";
import { JobRunners } from "../wrapper/index.ts";
import { buildGraph } from "./build-graph.ts";
import { DEFAULT_BUILD_REQUEST } from "./build-request.ts";

const N = 100;

/** The encoded size of an event's payload, without its envelope (ids, time: the log stores those apart). */
const payloadBytes = (event: BuildEvent) =>
  toBinary(BuildEventSchema, create(BuildEventSchema, { event: event.event })).length;

describe("lean events", () => {
  it(`records ${2 * N} job runs with their task once, lean manifests and valid diagram paths`, async () => {
    const graph = gslGraph([
      job({
        label: "raw",
        outputs: ["raw/{i}"],
        config: ({ i }) => ({ args: [i], env: { MODE: "x" } }),
        exec: () => {},
      }),
      job({
        label: "clean",
        outputs: ["clean/{i}"],
        config: ({ i }) => ({ inputs: [`raw/${i}`], args: [i, "--strict"] }),
        exec: (config, context) => context.log(`cleaned ${config.outputs[0]!.str}`),
      }),
    ]);
    const log = new MemoryEventLog();
    const refs = Array.from({ length: N }, (_, i) => `clean/${i}`);
    const started = Date.now();
    const result = await buildGraph(
      { graph, log, runner: new JobRunners() },
      { ...DEFAULT_BUILD_REQUEST, refs, parallel: 4, requester: "test" },
    );
    const elapsedMs = Date.now() - started;
    expect(result.status).toBe("completed");
    const events = (await log.read(0)).map((l) => l.event);
    for (const [, list] of eventsByBuild(events)) expect(diagramViolations(list)).toEqual([]);

    const runEvents = events.filter((e) => e.jobRunId !== "");
    const withTask = runEvents.filter((e) => (e.event.value as { task?: { config?: unknown } }).task?.config);
    expect(new Set(withTask.map((e) => e.event.case))).toEqual(new Set(["jobScheduleSuccess"]));
    expect(withTask).toHaveLength(2 * N);
    // Once per build at this pace, not once per scheduling pass.
    const remaining = events.filter((e) => e.event.case === "remainingJobs").length;
    expect(remaining).toBeGreaterThanOrEqual(1);
    expect(remaining).toBeLessThanOrEqual(1 + Math.ceil(elapsedMs / 1000));

    // Payload bytes per job run (the envelope is the storage layer's): about 440 here, of which the
    // three partition statuses are 160, the manifest 170 (its ids and its input's job run id are 110).
    const perRun = runEvents.reduce((sum, e) => sum + payloadBytes(e), 0) / (2 * N);
    expect(perRun).toBeLessThan(500);

    const runs = new JobRuns();
    for (const e of events) runs.apply(e);
    expect(runs.all().every((r) => r.task?.config?.outputs.length === 1)).toBe(true);
  });
});
