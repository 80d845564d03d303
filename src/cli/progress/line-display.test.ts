import { describe, expect, it } from "vitest";
import { jobRunHistory } from "../../testing/job-run-history.ts";
import { LineDisplay } from "./line-display.ts";

function lines(form: "full" | "lean"): string[] {
  const out: string[] = [];
  const display = new LineDisplay((line) => out.push(line));
  for (const event of jobRunHistory(form)) display.observe(event);
  return out;
}

describe("LineDisplay", () => {
  it("names the job and outputs of a failure whose event no longer carries the task", () => {
    const lean = lines("lean");
    expect(lean).toEqual(lines("full"));
    expect(lean).toEqual([
      "ok     clean  clean/1  (80ms)",
      'FAILED agg  agg/1: job "agg" (command "agg.sh") exited with code 3',
    ]);
  });
});
