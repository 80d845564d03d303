/**
 * Logs of schema version 3 keep loading, and version 4's storage (id spans
 * instead of two indexes, lean manifests) reads back exactly what was
 * appended. The fixture fixtures/log-bbcae6b.db was written by databuild at
 * commit bbcae6b (schema version 3), snapshots then deleted and the file
 * vacuumed:
 *
 *   B=examples/basic/databuild.yaml
 *   databuild --graph $B --db log.db build summary/month=2024-05
 *   databuild --graph $B --db log.db invalidate numbers/date=2024-05-02
 *   databuild --graph $B --db log.db build squares/date=2024-05-02 squares/date=2024-05-09
 *
 * and the expected files are that databuild's `events --json` and
 * `status --json` of the refs below.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LoggedEvent } from "../../core/event-log.ts";
import { newEvent } from "../../core/new-event.ts";
import { newId } from "../../core/ids.ts";
import { eventPayload } from "../../core/build-event.ts";
import { BuildEventSchema, type BuildEvent } from "../../gen/databuild_pb.ts";
import { randomHistory } from "../../testing/random-history.ts";
import { runDatabuild } from "../../testing/run-cli.ts";
import { openSqliteEventLog } from "./open-sqlite-event-log.ts";
import { SCHEMA_VERSION } from "./schema.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");
const BASIC = join(import.meta.dirname, "..", "..", "..", "examples", "basic", "databuild.yaml");
const STATUS_REFS = [
  "numbers/date=2024-05-02",
  "squares/date=2024-05-02",
  "squares/date=2024-05-09",
  "summary/month=2024-05",
];

const jsonLines = (text: string): unknown[] =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as unknown);

function pragma(path: string, name: string): number {
  const raw = new Database(path, { readonly: true });
  try {
    return raw.pragma(name, { simple: true }) as number;
  } finally {
    raw.close();
  }
}

function indexes(path: string): string[] {
  const raw = new Database(path, { readonly: true });
  try {
    return raw.prepare(`SELECT name FROM sqlite_schema WHERE type = 'index' ORDER BY name`).pluck().all() as string[];
  } finally {
    raw.close();
  }
}

/** Every read by build request and by job run gives what filtering the whole log gives. */
async function expectIdReadsMatch(log: Awaited<ReturnType<typeof openSqliteEventLog>>, all: LoggedEvent[]) {
  const builds = new Set(all.map((l) => l.event.buildRequestId));
  const runs = new Set(all.map((l) => l.event.jobRunId));
  expect(builds.size).toBeGreaterThan(2);
  expect(runs.size).toBeGreaterThan(5);
  for (const id of builds) {
    expect(await log.read(0, { buildRequestId: id }), id).toEqual(all.filter((l) => l.event.buildRequestId === id));
    const mid = all.filter((l) => l.event.buildRequestId === id)[3]?.offset ?? 0;
    expect(await log.read(mid, { buildRequestId: id }, 4), id).toEqual(
      all.filter((l) => l.offset > mid && l.event.buildRequestId === id).slice(0, 4),
    );
  }
  for (const id of runs) {
    expect(await log.read(0, { jobRunId: id }), id).toEqual(all.filter((l) => l.event.jobRunId === id));
    expect(await log.read(0, { jobRunId: id, kinds: ["partitionManifest", "logEntry"] }), id).toEqual(
      all.filter(
        (l) =>
          l.event.jobRunId === id && (l.event.event.case === "partitionManifest" || l.event.event.case === "logEntry"),
      ),
    );
  }
}

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "databuild-old-log-v3-"));
  path = join(dir, "databuild.db");
  copyFileSync(join(FIXTURES, "log-bbcae6b.db"), path);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("a log written by databuild bbcae6b (schema version 3)", () => {
  it("reads read-only as its databuild printed it, by id too", async () => {
    expect(pragma(path, "user_version")).toBe(3);
    const log = await openSqliteEventLog(path, { readOnly: true });
    try {
      const all = await log.read(0);
      expect(all.map((l) => toJson(BuildEventSchema, l.event))).toEqual(
        jsonLines(readFileSync(join(FIXTURES, "events-bbcae6b.jsonl"), "utf8")),
      );
      await expectIdReadsMatch(log, all);
    } finally {
      await log.close();
    }
    expect(pragma(path, "user_version")).toBe(3);
  });

  it("migrates to the current version on opening to write: the same events, reads by id through the spans, and new ones lean", async () => {
    const before = await openSqliteEventLog(path, { readOnly: true });
    const old = await before.read(0);
    await before.close();
    const log = await openSqliteEventLog(path);
    try {
      expect(await log.read(0)).toEqual(old);
      expect(indexes(path)).not.toContain("events_build_request");
      expect(indexes(path)).not.toContain("events_job_run");
      await expectIdReadsMatch(log, old);
      // A new event of an old build request and job run widens their spans.
      const run = old.find((l) => l.event.event.case === "partitionManifest")!.event;
      const manifest = run.event.case === "partitionManifest" ? run.event.value : undefined;
      const again = newEvent(
        { buildRequestId: run.buildRequestId, jobRunId: run.jobRunId },
        eventPayload("partitionManifest", manifest!),
      );
      const [offset] = await log.append([again]);
      expect(offset).toBe(old.length + 1);
      const mine = await log.read(0, { jobRunId: run.jobRunId });
      expect(mine.at(-1)).toEqual({ offset, event: again });
      expect(mine.slice(0, -1)).toEqual(old.filter((l) => l.event.jobRunId === run.jobRunId));
      expect(await log.read(0, { buildRequestId: run.buildRequestId, kinds: ["partitionManifest"] })).toEqual([
        ...old.filter(
          (l) => l.event.buildRequestId === run.buildRequestId && l.event.event.case === "partitionManifest",
        ),
        { offset, event: again },
      ]);
    } finally {
      await log.close();
    }
    expect(pragma(path, "user_version")).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(5);
    const raw = new Database(path, { readonly: true });
    try {
      // The manifest appended after the migration is stored lean (negated kind), the old ones as they were.
      const kinds = raw.prepare(`SELECT kind FROM events WHERE abs(kind) = 58 ORDER BY "offset"`).pluck().all();
      expect(kinds.at(-1)).toBe(-58);
      expect(kinds.slice(0, -1).every((k) => k === 58)).toBe(true);
    } finally {
      raw.close();
    }
  });

  it("databuild events and status print what bbcae6b printed, before and after migrating", async () => {
    const printed = async () => {
      const results = await Promise.all([
        runDatabuild(["--db", path, "events", "--json"]),
        runDatabuild(["--graph", BASIC, "--db", path, "status", "--json", ...STATUS_REFS]),
      ]);
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      return results.map((r) => jsonLines(r.stdout));
    };
    const expected = ["events-bbcae6b.jsonl", "status-basic-bbcae6b.jsonl"].map((f) =>
      jsonLines(readFileSync(join(FIXTURES, f), "utf8")),
    );
    expect(await printed()).toEqual(expected);
    await (await openSqliteEventLog(path)).close();
    expect(pragma(path, "user_version")).toBe(SCHEMA_VERSION);
    expect(await printed()).toEqual(expected);
  }, 60_000);
});

describe("version 4's lean manifests", () => {
  it("read back exactly as appended, whatever ids a manifest and its event carry", async () => {
    const fresh = join(dir, "fresh.db");
    const log = await openSqliteEventLog(fresh);
    try {
      const odd = (history: BuildEvent[]): BuildEvent[] =>
        history.map((e, i) => {
          if (e.event.case !== "partitionManifest" || i % 3 === 0) return e;
          // Two of three manifests name their event's own ids (stored lean), some with an empty build request;
          // their inputs' job run ids are UUIDs (packed), empty, or (every fifth manifest) not UUIDs (stored whole).
          const inputs = e.event.value.inputs.map((input, k) => ({
            ...input,
            jobRunId: k === 0 ? "" : i % 5 === 0 ? `run-${k}` : newId(),
          }));
          const value = {
            ...e.event.value,
            inputs,
            jobRunId: e.jobRunId,
            buildRequestId: i % 2 ? e.buildRequestId : "",
          };
          return { ...e, buildRequestId: value.buildRequestId, event: { case: "partitionManifest", value } };
        });
      await fc.assert(
        fc.asyncProperty(randomHistory(30), async (history) => {
          const events = odd(history);
          const head = await log.head();
          await log.append(events);
          const read = await log.read(head);
          expect(read.map((l) => l.event)).toEqual(events);
        }),
        { numRuns: 40 },
      );
    } finally {
      await log.close();
    }
    const raw = new Database(fresh, { readonly: true });
    try {
      const count = (kind: number) => raw.prepare(`SELECT count(*) FROM events WHERE kind = ?`).pluck().get(kind);
      expect(count(-58)).toBeGreaterThan(0);
      expect(count(58)).toBeGreaterThan(0);
    } finally {
      raw.close();
    }
  });

  it("large payloads are stored deflated and read back exactly, by kind too", async () => {
    const fresh = join(dir, "large.db");
    const log = await openSqliteEventLog(fresh);
    const lines = Array.from({ length: 400 }, (_, i) => `line ${i} of a long message`).join("\n");
    const big = newEvent({ buildRequestId: newId() }, eventPayload("graphBuildFail", { message: lines }));
    const small = newEvent({ buildRequestId: big.buildRequestId }, eventPayload("graphBuildFail", { message: "no" }));
    try {
      const offsets = await log.append([big, small]);
      expect(await log.read(0)).toEqual([
        { offset: offsets[0], event: big },
        { offset: offsets[1], event: small },
      ]);
      expect(await log.read(0, { kinds: ["graphBuildFail"], buildRequestId: big.buildRequestId })).toHaveLength(2);
      expect(await log.readAt([offsets[0]!])).toEqual([{ offset: offsets[0], event: big }]);
    } finally {
      await log.close();
    }
    const raw = new Database(fresh, { readonly: true });
    try {
      const rows = raw.prepare(`SELECT kind, length(payload) AS bytes FROM events ORDER BY "offset"`).all() as {
        kind: number;
        bytes: number;
      }[];
      expect(rows[0]!.kind).toBeLessThan(0);
      expect(rows[0]!.bytes * 4).toBeLessThan(lines.length);
      expect(rows[1]!.kind).toBeGreaterThan(0);
    } finally {
      raw.close();
    }
  });
});
