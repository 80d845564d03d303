import { describe, expect, it } from "vitest";
import { createGraph } from "./graph.ts";
import type { JobDefinition } from "./job.ts";
import { parseOutputPattern, type OutputPattern } from "./output-pattern.ts";

const pattern = (source: string): OutputPattern => {
  const parsed = parseOutputPattern(source);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
};
const job = (label: string, ...outputs: string[]): JobDefinition =>
  ({
    label,
    outputs: outputs.map(pattern),
    version: "1.0.0",
    configure: () => [],
    exec: { kind: "command", command: ["true"] },
  }) as unknown as JobDefinition;

describe("Graph.matchOf", () => {
  const graph = createGraph("g", [
    job("raw", "raw/{d}"),
    job("clean", "clean/{d}", "clean/all"),
    job("report", "report/{d}"),
  ]);
  const label = (ref: string, likelyJob?: string) => graph.matchOf(ref, likelyJob)?.job.label;

  it("finds the producer among every job's patterns, refs of jobs alternating", () => {
    expect(["raw/1", "clean/1", "report/1", "clean/all", "raw/2"].map((r) => label(r))).toEqual([
      "raw",
      "clean",
      "report",
      "clean",
      "raw",
    ]);
    expect(label("other/1")).toBeUndefined();
  });

  it("answers the likely job when one of its patterns matches, any of them", () => {
    expect(label("clean/all", "clean")).toBe("clean");
    expect(label("clean/7", "clean")).toBe("clean");
  });

  it("finds the real producer when the likely job does not match, or is no job of the graph", () => {
    expect(label("report/1", "raw")).toBe("report");
    expect(label("report/1", "renamed")).toBe("report");
    expect(label("other/1", "raw")).toBeUndefined();
  });
});
