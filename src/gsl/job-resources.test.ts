/**
 * A TypeScript job's `resources` (what launchers that allocate machines
 * give each run: SLURM's --cpus-per-task and --mem).
 */
import { describe, expect, it } from "vitest";
import { GraphDefinitionError } from "../core/errors.ts";
import { gslGraph, noop } from "../testing/gsl-graph.ts";
import { defineJob } from "./define-job.ts";

describe("defineJob resources", () => {
  it("reads cpus and memory (a size or bytes) into the graph model", () => {
    const graph = gslGraph([
      defineJob({ label: "train", outputs: ["model/{x}"], resources: { cpus: 8, memory: "16GiB" }, exec: ["train"] }),
      defineJob({ label: "small", outputs: ["small/{x}"], resources: { memory: 512 * 1024 * 1024 }, exec: noop }),
      defineJob({ label: "plain", outputs: ["plain/{x}"], exec: noop }),
    ]);
    expect(graph.job("train")!.resources).toEqual({ cpus: 8, memoryBytes: 16 * 1024 ** 3 });
    expect(graph.job("small")!.resources).toEqual({ cpus: undefined, memoryBytes: 512 * 1024 * 1024 });
    expect(graph.job("plain")!.resources).toBeUndefined();
  });

  it("rejects a fractional CPU count and a memory that is no size, naming the job", () => {
    const bad = (resources: { cpus?: number; memory?: string | number }) => () =>
      gslGraph([defineJob({ label: "train", outputs: ["model/{x}"], resources, exec: noop })]);
    expect(bad({ cpus: 1.5 })).toThrow(GraphDefinitionError);
    expect(bad({ cpus: 1.5 })).toThrow(/job "train": resources\.cpus must be a whole number, at least 1 \(got 1\.5\)/);
    expect(bad({ memory: "a lot" })).toThrow(/job "train": resources\.memory "a lot" is not a size/);
    expect(bad({ memory: -1 })).toThrow(/resources\.memory -1 is not a positive whole number of bytes/);
  });
});
