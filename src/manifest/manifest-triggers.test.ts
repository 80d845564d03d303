/**
 * The `triggers:` section of a manifest: schedules with partition templates
 * and eager sensors, and every invalid case reported with the file and line
 * at fault.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GraphDefinitionError } from "../core/errors.ts";
import type { EagerSensorDefinition, ScheduleDefinition } from "../core/triggers.ts";
import { loadManifestFile } from "./load-manifest.ts";

const JOBS = `name: podcasts
jobs:
  - label: categorized
    outputs: ["categorized/category={category}/date={date}"]
    config: ["python3", "jobs/c.py", "config"]
    exec: ["python3", "jobs/c.py", "exec"]
  - label: summaries
    outputs: ["daily_summaries/category={category}/date={date}"]
    config: ["python3", "jobs/s.py", "config"]
    exec: ["python3", "jobs/s.py", "exec"]
`;

function write(text: string, name = "databuild.yaml"): string {
  const file = join(mkdtempSync(join(tmpdir(), "databuild-triggers-")), name);
  writeFileSync(file, text);
  return file;
}

async function definitionError(triggers: string, line: number, pattern: RegExp): Promise<void> {
  const file = write(JOBS + triggers);
  const error = await loadManifestFile(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GraphDefinitionError);
  const message = (error as Error).message;
  expect(message.startsWith(`${file}:${line}: `), message).toBe(true);
  expect(message).toMatch(pattern);
}

describe("manifest triggers", () => {
  it("declares a schedule with templates and parameter lists, and an eager sensor", async () => {
    const file = write(
      JOBS +
        `triggers:
  - name: nightly
    cron: "0 3 * * *"
    time_zone: Europe/Berlin
    partitions: ["daily_summaries/category={category}/date={date}"]
    params:
      category: [comedy, true-crime]
    catch_up: 5
  - name: summaries_when_ready
    eager: summaries
    on: ["categorized/category={category}/date={date}"]
`,
    );
    const graph = await loadManifestFile(file);
    const [nightly, sensor] = graph.triggers as [ScheduleDefinition, EagerSensorDefinition];
    expect(nightly).toMatchObject({
      kind: "schedule",
      name: "nightly",
      cron: "0 3 * * *",
      timeZone: "Europe/Berlin",
      catchUpLimit: 5,
      definedAt: `${file}:12`,
      description: "daily_summaries/category={category}/date={date} for category in [comedy, true-crime]",
    });
    // 03:00 in Berlin on 2024-05-02 (01:00 UTC): {date} is the day before, in Berlin.
    expect(nightly.partitions(new Date("2024-05-02T01:00:00Z"))).toEqual([
      "daily_summaries/category=comedy/date=2024-05-01",
      "daily_summaries/category=true-crime/date=2024-05-01",
    ]);
    expect(new Date(nightly.times.next(Date.parse("2024-05-02T01:00:00Z"))!).toISOString()).toBe(
      "2024-05-03T01:00:00.000Z",
    );
    expect(sensor).toMatchObject({ kind: "sensor", policy: "eager", name: "summaries_when_ready" });
    expect(sensor.targets.map((t) => t.source)).toEqual(["daily_summaries/category={category}/date={date}"]);
    expect(sensor.definedAt).toBe(`${file}:19`);
  });

  it("defaults to UTC and a catch-up limit of 3, in JSON too", async () => {
    const manifest = JSON.parse(
      JSON.stringify({
        name: "j",
        jobs: [{ label: "d", outputs: ["d/{date}"], config: ["c"], exec: ["e"] }],
        triggers: [{ name: "daily", cron: "@daily", partitions: ["d/{date}"] }],
      }),
    );
    const graph = await loadManifestFile(write(JSON.stringify(manifest, null, 2), "databuild.json"));
    expect(graph.triggers[0]).toMatchObject({ timeZone: "UTC", catchUpLimit: 3 });
  });

  it.each([
    [
      '  - name: n\n    cron: "61 * * * *"\n    partitions: ["daily_summaries/category=a/date={date}"]\n',
      13,
      /triggers\[0\]\.cron: cron expression "61 \* \* \* \*"/,
    ],
    [
      '  - name: n\n    cron: "0 3 * * *"\n    time_zone: Mars/Olympus\n    partitions: ["d/{date}"]\n',
      14,
      /unknown time zone "Mars\/Olympus"/,
    ],
    [
      '  - name: n\n    cron: "0 3 * * *"\n    partitions: ["daily_summaries/category={category}/date={date}"]\n',
      14,
      /\{category\} in .* has no values: list them under `params`/,
    ],
    [
      '  - name: n\n    cron: "0 3 * * *"\n    partitions: ["daily_summaries/category={category}/date={date}"]\n    params:\n      category: []\n',
      15,
      /a parameter needs at least one value/,
    ],
    [
      '  - name: n\n    cron: "0 3 * * *"\n    partitions: ["daily_summaries/category=a/date={date}"]\n    params:\n      colour: [red]\n',
      15,
      /params\.colour is used by no partition template/,
    ],
    [
      '  - name: n\n    cron: "0 3 * * *"\n    partitions: ["nope/{date}"]\n',
      12,
      /partition template "nope\/\{date\}" \(e\.g\. nope\/2024-01-01\) matches no job's output pattern/,
    ],
    [
      '  - name: n\n    cron: "0 3 * * *"\n    catch_up: -1\n    partitions: ["d/{date}"]\n',
      14,
      /catch_up must be 0 or more/,
    ],
    ['  - name: n\n    cron: "0 3 * * *"\n', 12, /a schedule needs `partitions`/],
    ['  - name: n\n    partitions: ["d/{date}"]\n', 12, /needs `cron` \(a schedule\) or `eager` \(a sensor\)/],
    [
      '  - name: n\n    cron: "0 3 * * *"\n    eager: summaries\n    on: ["x/{date}"]\n',
      14,
      /a schedule \(cron\) or a sensor \(eager\), not both/,
    ],
    [
      '  - name: n\n    cron: "0 3 * * *"\n    partitions: ["d/{date}"]\n    timezone: UTC\n',
      15,
      /unknown key "timezone" \(did you mean "time_zone"\?\)/,
    ],
    [
      '  - name: "bad name"\n    cron: "0 3 * * *"\n    partitions: ["d/{date}"]\n',
      12,
      /may hold only letters, digits/,
    ],
    [
      '  - name: a\n    cron: "0 3 * * *"\n    partitions: ["daily_summaries/category=a/date={date}"]\n  - name: a\n    eager: summaries\n    on: ["categorized/category={category}/date={date}"]\n',
      15,
      /duplicate trigger name "a"/,
    ],
    ["  - name: s\n    eager: summaries\n", 12, /an eager sensor needs `on`/],
    [
      '  - name: s\n    eager: "unknown/{x}"\n    on: ["categorized/category={category}/date={date}"]\n',
      12,
      /eager: "unknown\/\{x\}" is no job's output pattern \(nor a job label\)/,
    ],
    [
      '  - name: s\n    eager: summaries\n    on: ["other/{date}"]\n',
      12,
      /on: no job's outputs can match "other\/\{date\}"/,
    ],
    [
      '  - name: s\n    eager: summaries\n    on: ["categorized/category=comedy/date={date}"]\n',
      12,
      /\{category\} of .* is not a parameter of .*: list its values under `params`/,
    ],
    [
      '  - name: s\n    eager: summaries\n    on: ["categorized/category={category}/date={date}"]\n    time_zone: UTC\n',
      15,
      /time_zone belongs to a schedule/,
    ],
  ])("rejects %j at its line", async (triggers, line, pattern) => {
    await definitionError(`triggers:\n${triggers}`, line, pattern);
  });
});
