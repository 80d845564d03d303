import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { JobGraphSchema, type JobGraph } from "../gen/databuild_pb.ts";
import { BuildPlan, TaskState } from "./build-plan.ts";

/** Tasks as "output<-input,input". */
function graph(...specs: string[]): JobGraph {
  return create(JobGraphSchema, {
    nodes: specs.map((spec) => {
      const [output, inputs = ""] = spec.split("<-");
      return {
        job: { label: output!.split("/")[0] },
        config: {
          outputs: [{ str: output }],
          inputs: inputs
            .split(",")
            .filter(Boolean)
            .map((str) => ({ partitionRef: { str } })),
        },
      };
    }),
  });
}

describe("BuildPlan with partitions delegated to other build requests", () => {
  it("keeps a task waiting until its external input is available", () => {
    const plan = new BuildPlan(graph("clean/1<-raw/1", "raw/2", "clean/2<-raw/2"), new Set(["raw/1"]));
    expect(plan.stateOf(0)).toBe(TaskState.Waiting);
    expect(plan.externalCount).toBe(1);
    expect(plan.externalAvailable("raw/1")).toEqual([0]);
    expect(plan.stateOf(0)).toBe(TaskState.Ready);
    expect(plan.externalCount).toBe(0);
  });

  it("blocks everything downstream of an external input that failed", () => {
    const plan = new BuildPlan(graph("clean/1<-raw/1", "report/1<-clean/1"), new Set(["raw/1"]));
    expect(plan.externalFailed("raw/1").sort()).toEqual([0, 1]);
    expect(plan.count(TaskState.Blocked)).toBe(2);
  });

  it("counts a delegated requested partition that no task reads as awaited", () => {
    const plan = new BuildPlan(graph(), new Set(["report/9"]));
    expect(plan.pendingExternals()).toEqual(["report/9"]);
  });

  it("on takeover, hands the waiting tasks to the new producer and links it to what the plan already builds", () => {
    const plan = new BuildPlan(graph("raw/1", "report/1<-clean/1,raw/1"), new Set(["clean/1"]));
    const raw = plan.nextReady()!;
    expect(plan.stateOf(1)).toBe(TaskState.Waiting);
    expect(plan.addTasks(graph("clean/1<-raw/1"))).toEqual([]);
    expect(plan.externalCount).toBe(0);
    expect(plan.stateOf(2)).toBe(TaskState.Waiting); // waits for raw/1, still running
    expect(plan.succeed(raw)).toEqual([2]);
    plan.nextReady();
    expect(plan.succeed(2)).toEqual([1]);
  });

  it("blocks a taken-over task whose input failed earlier in the build", () => {
    const plan = new BuildPlan(graph("raw/1", "report/1<-clean/1"), new Set(["clean/1"]));
    plan.fail(plan.nextReady()!);
    expect(plan.addTasks(graph("clean/1<-raw/1")).sort()).toEqual([1, 2]);
  });
});
