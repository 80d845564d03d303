/**
 * Logs written before schema version 3 keep loading. The fixture
 * fixtures/log-d3daae5.db was written by databuild at commit d3daae5 (schema
 * version 2), from a copy of that commit (`git archive d3daae5`):
 *
 *   G=examples/podcast-reviews/databuild.ts; B=examples/basic/databuild.yaml
 *   databuild --graph $G --db log.db build daily_summaries/category=comedy/date=2024-05-01 \
 *     daily_summaries/category=comedy/date=2024-05-02
 *   databuild --graph $G --db log.db build daily_summaries/category=nosuch/date=2024-05-01   # fails to plan
 *   databuild --graph $G --db log.db build daily_summaries/category=comedy/date=2031-05-01   # fails to plan
 *   databuild --graph $G --db log.db invalidate podcasts/all
 *   databuild --graph $G --db log.db build daily_summaries/category=comedy/date=2024-05-01
 *   touch examples/basic/data/numbers                       # so the numbers job fails
 *   databuild --graph $B --db log.db build squares/date=2024-05-02
 *   rm examples/basic/data/numbers
 *   databuild --graph $B --db log.db build squares/date=2024-05-03
 *
 * and the expected files are that databuild's `events --json` and
 * `status --json REF...` of it (the refs are below).
 */
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LoggedEvent } from "../../core/event-log.ts";
import { partitionRefsOf } from "../../core/partition-refs.ts";
import { BuildEventSchema } from "../../gen/databuild_pb.ts";
import { runDatabuild } from "../../testing/run-cli.ts";
import { sampleEvents } from "../sample-events.ts";
import { openSqliteEventLog } from "./open-sqlite-event-log.ts";
import { SCHEMA_VERSION } from "./schema.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");
const EXAMPLES = join(import.meta.dirname, "..", "..", "..", "examples");
const STATUS_QUERIES = [
  {
    graph: join(EXAMPLES, "podcast-reviews", "databuild.ts"),
    expected: "status-podcast-d3daae5.jsonl",
    refs: [
      "daily_summaries/category=comedy/date=2024-05-01",
      "daily_summaries/category=comedy/date=2024-05-02",
      "podcasts/all",
      "reviews/date=2024-05-01",
      "daily_summaries/category=nosuch/date=2024-05-01",
    ],
  },
  {
    graph: join(EXAMPLES, "basic", "databuild.yaml"),
    expected: "status-basic-d3daae5.jsonl",
    refs: ["numbers/date=2024-05-02", "squares/date=2024-05-02", "squares/date=2024-05-03"],
  },
];

const jsonLines = (text: string): unknown[] =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as unknown);
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** The fixture's events as its own (old) layout holds them: offset and whole payload. */
function decodedBeforeMigration(path: string): LoggedEvent[] {
  const raw = new Database(path, { readonly: true });
  try {
    const rows = raw.prepare(`SELECT "offset", payload FROM events ORDER BY "offset"`).raw().all() as [
      number,
      Buffer,
    ][];
    return rows.map(([offset, payload]) => ({ offset, event: fromBinary(BuildEventSchema, payload) }));
  } finally {
    raw.close();
  }
}

function userVersion(path: string): number {
  const raw = new Database(path, { readonly: true });
  try {
    return raw.pragma("user_version", { simple: true }) as number;
  } finally {
    raw.close();
  }
}

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "databuild-old-log-"));
  path = join(dir, "databuild.db");
  copyFileSync(join(FIXTURES, "log-d3daae5.db"), path);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("a log written by databuild d3daae5 (schema version 2)", () => {
  it("is what its databuild printed: the fixture is sound", () => {
    expect(userVersion(path)).toBe(2);
    const old = decodedBeforeMigration(path);
    expect(old.map((l) => l.offset)).toEqual(old.map((_, i) => i + 1));
    const printed = jsonLines(readFileSync(join(FIXTURES, "events-d3daae5.jsonl"), "utf8"));
    expect(old.map((l) => toJson(BuildEventSchema, l.event))).toEqual(printed);
  });

  it("reads read-only without being changed, partitions and all", async () => {
    const before = sha256(path);
    const old = decodedBeforeMigration(path);
    const log = await openSqliteEventLog(path, { readOnly: true });
    try {
      expect(await log.read(0)).toEqual(old);
      expect(await log.readAt([3, 1, 200, 9999])).toEqual([old[0], old[2], old[199]]);
      const buildRequestId = old[0]!.event.buildRequestId;
      expect(await log.read(10, { buildRequestId }, 5)).toEqual(
        old.filter((l) => l.offset > 10 && l.event.buildRequestId === buildRequestId).slice(0, 5),
      );
      const partitions = ["podcasts/all", "numbers/date=2024-05-02"];
      const about = old.filter((l) => partitionRefsOf(l.event).some((r) => partitions.includes(r)));
      expect(about.length).toBeGreaterThan(4);
      expect(await log.read(0, { partitions })).toEqual(about);
      expect(await log.read(about[1]!.offset, { partitions }, 2)).toEqual(about.slice(2, 4));
    } finally {
      await log.close();
    }
    expect(sha256(path)).toBe(before);
  });

  it("migrates to the current schema on opening to write, keeping every event at its offset", async () => {
    const old = decodedBeforeMigration(path);
    const log = await openSqliteEventLog(path);
    try {
      expect(await log.read(0)).toEqual(old);
      expect(await log.head()).toBe(old.length);
      // The per-partition index covers the old events.
      const refs = new Set(old.flatMap((l) => partitionRefsOf(l.event)));
      expect(refs.size).toBeGreaterThan(10);
      for (const r of refs) {
        expect(await log.read(0, { partitions: [r] }), r).toEqual(
          old.filter((l) => partitionRefsOf(l.event).includes(r)),
        );
      }
      // Old event ids are still recognized, and new offsets follow the old ones.
      expect(await log.append([old[41]!.event])).toEqual([42]);
      expect(await log.append(sampleEvents(2))).toEqual([old.length + 1, old.length + 2]);
    } finally {
      await log.close();
    }
    expect(userVersion(path)).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(5);
  });

  it("a reader opened on the old layout goes on reading after a writer migrated the file", async () => {
    const old = decodedBeforeMigration(path);
    const reader = await openSqliteEventLog(path, { readOnly: true });
    try {
      expect(await reader.read(0, { partitions: ["podcasts/all"] })).toHaveLength(
        old.filter((l) => partitionRefsOf(l.event).includes("podcasts/all")).length,
      );
      const writer = await openSqliteEventLog(path);
      const [added] = await writer.append(sampleEvents(1));
      await writer.close();
      expect(userVersion(path)).toBe(SCHEMA_VERSION);
      const all = await reader.read(0);
      expect(all.slice(0, old.length)).toEqual(old);
      expect(all.map((l) => l.offset).at(-1)).toBe(added);
      expect(await reader.readAt([1])).toEqual([old[0]]);
    } finally {
      await reader.close();
    }
  });

  it("databuild status and events print what the old databuild printed, before and after migrating", async () => {
    const printed = async () => {
      const results = await Promise.all([
        runDatabuild(["--db", path, "events", "--json"]),
        ...STATUS_QUERIES.map(({ graph, refs }) =>
          runDatabuild(["--graph", graph, "--db", path, "status", "--json", ...refs]),
        ),
      ]);
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      return results.map((r) => jsonLines(r.stdout));
    };
    const expected = ["events-d3daae5.jsonl", ...STATUS_QUERIES.map((q) => q.expected)].map((f) =>
      jsonLines(readFileSync(join(FIXTURES, f), "utf8")),
    );
    expect(await printed()).toEqual(expected);
    await (await openSqliteEventLog(path)).close();
    expect(userVersion(path)).toBe(SCHEMA_VERSION);
    expect(await printed()).toEqual(expected);
  }, 60_000);
});
