/**
 * Triggers in the TypeScript GSL: defineSchedule / defineSensor in a real
 * graph file loaded as the CLI loads it, and each invalid declaration
 * reported with the file and line of its define call.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { GraphDefinitionError } from "../core/errors.ts";
import type { EagerSensorDefinition, FunctionSensorDefinition, ScheduleDefinition } from "../core/triggers.ts";
import { loadGraph } from "../loader/load-graph.ts";
import { DATABUILD_API, runDatabuild, tempDir, writeFiles } from "../testing/run-cli.ts";

const HEADER = `import { defineGraph, defineJob, defineSchedule, defineSensor } from ${JSON.stringify(DATABUILD_API)};
const reviews = defineJob({ label: "reviews", outputs: ["reviews/date={date}"], exec: () => {} });
const summary = defineJob({
  label: "summary",
  outputs: ["summary/category={category}/date={date}"],
  config: ({ date }) => ({ inputs: [\`reviews/date=\${date}\`] }),
  exec: () => {},
});
`;

function graphFile(body: string): string {
  const dir = writeFiles(tempDir(), { "package.json": '{"type": "module"}' });
  const file = join(dir, "databuild.ts");
  writeFileSync(file, HEADER + body);
  return file;
}

/** HEADER is 8 lines: the first line of `body` is line 9. */
const FIRST = 9;

describe("TypeScript GSL triggers", () => {
  it("declares schedules (a function or templates) and sensors (eager and function)", async () => {
    const file = graphFile(`const nightly = defineSchedule({
  name: "nightly",
  cron: "0 3 * * *",
  timeZone: "America/New_York",
  partitions: (tick, { date }) => ["comedy", "news"].map((c) => \`summary/category=\${c}/date=\${date}\`),
});
const hourly = defineSchedule({ name: "hourly", cron: "0 * * * *", partitions: ["reviews/date={tick_date}"], catchUp: 0 });
const eager = defineSensor({ name: "summaries", eager: "summary", on: ["reviews/date={date}"], params: { category: ["comedy"] } });
const fn = defineSensor({ name: "custom", evaluate: () => undefined, intervalSeconds: 30, description: "never" });
export default defineGraph({ label: "g", jobs: [reviews, summary], triggers: [nightly, hourly, eager, fn] });
`);
    const graph = await loadGraph(file);
    const [nightly, hourly, eager, fn] = graph.triggers as [
      ScheduleDefinition,
      ScheduleDefinition,
      EagerSensorDefinition,
      FunctionSensorDefinition,
    ];
    expect(nightly).toMatchObject({ name: "nightly", timeZone: "America/New_York", catchUpLimit: 3 });
    // (Lines of define calls come from the graph's source map, as the bin enables: checked through it below.)
    expect(nightly.definedAt).toMatch(/databuild\.ts(:\d+)?$/);
    // 03:00 EDT on 2024-05-02 is 07:00 UTC: the day before is May 1st.
    expect(nightly.partitions(new Date("2024-05-02T07:00:00Z"))).toEqual([
      "summary/category=comedy/date=2024-05-01",
      "summary/category=news/date=2024-05-01",
    ]);
    expect(hourly).toMatchObject({ timeZone: "UTC", catchUpLimit: 0, description: "reviews/date={tick_date}" });
    expect(hourly.partitions(new Date("2024-05-02T07:00:00Z"))).toEqual(["reviews/date=2024-05-02"]);
    expect(eager.targets.map((t) => t.source)).toEqual(["summary/category={category}/date={date}"]);
    expect(fn).toMatchObject({ policy: "function", intervalMs: 30_000, description: "never" });
  });

  it.each([
    [
      'defineSchedule({ name: "n", cron: "0 25 * * *", partitions: ["reviews/date={date}"] })',
      /trigger "n": cron expression "0 25 \* \* \*": .*0-23/,
    ],
    [
      'defineSchedule({ name: "n", cron: "0 3 * * *", timeZone: "Nowhere/City", partitions: ["reviews/date={date}"] })',
      /unknown time zone "Nowhere\/City"/,
    ],
    [
      'defineSchedule({ name: "n", cron: "0 3 * * *", partitions: ["summary/category={category}/date={date}"] })',
      /\{category\} in .* has no values/,
    ],
    [
      'defineSchedule({ name: "n", cron: "0 3 * * *", partitions: ["elsewhere/{date}"] })',
      /partition template "elsewhere\/\{date\}" .* matches no job's output pattern/,
    ],
    [
      'defineSchedule({ name: "n", cron: "0 3 * * *", partitions: [], catchUp: 1 })',
      /`partitions` must be a function of the tick or a non-empty list/,
    ],
    [
      'defineSchedule({ name: "n", cron: "0 3 * * *", partitions: ["reviews/date={date}"], catchUp: 1.5 })',
      /`catchUp` must be a whole number/,
    ],
    [
      'defineSchedule({ name: "has space", cron: "0 3 * * *", partitions: ["reviews/date={date}"] })',
      /trigger name "has space" may hold only/,
    ],
    ['defineSensor({ name: "s", eager: "summary", on: [] })', /`on` must list the patterns/],
    [
      'defineSensor({ name: "s", eager: "nothing/{x}", on: ["reviews/date={date}"] })',
      /eager: "nothing\/\{x\}" is no job's output pattern/,
    ],
    [
      'defineSensor({ name: "s", eager: "summary", on: ["reviews/date={date}"] })',
      /\{category\} of .* is not a parameter of "reviews\/date=\{date\}"/,
    ],
    ['defineSensor({ name: "s" } as never)', /a sensor needs `eager` .* or `evaluate`/],
  ])("rejects %s at the line of its call", async (declaration, pattern) => {
    const file = graphFile(`const t = ${declaration};
export default defineGraph({ label: "g", jobs: [reviews, summary], triggers: [t] });
`);
    await expect(loadGraph(file)).rejects.toThrow(GraphDefinitionError);
    // Through the real bin, which reads lines from the graph file's source map.
    const listed = await runDatabuild(["triggers"], { cwd: dirname(file) });
    expect(listed.code).toBe(2);
    expect(listed.stderr.startsWith(`databuild: error: ${file}:${FIRST}: `), listed.stderr).toBe(true);
    expect(listed.stderr).toMatch(pattern);
  });

  it("rejects two triggers of one name, naming where the first is", async () => {
    const file =
      graphFile(`const a = defineSchedule({ name: "a", cron: "@daily", partitions: ["reviews/date={date}"] });
const b = defineSensor({ name: "a", evaluate: () => undefined });
export default defineGraph({ label: "g", jobs: [reviews, summary], triggers: [a, b] });
`);
    const listed = await runDatabuild(["triggers"], { cwd: dirname(file) });
    expect(listed.code).toBe(2);
    expect(listed.stderr).toContain(`${file}:${FIRST + 1}: trigger "a": two triggers are named "a" (${file}:${FIRST})`);
  });
});
