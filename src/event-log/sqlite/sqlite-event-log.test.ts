import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LoggedEvent } from "../../core/event-log.ts";
import type { OtherWriters } from "../contract-support.ts";
import { describeEventLogContract } from "../event-log-contract.ts";
import { EventLogFileError } from "../event-log-error.ts";
import { sampleEvents } from "../sample-events.ts";
import { FIND_BY_ID } from "./event-inserter.ts";
import { startAppendChild } from "../fixtures/run-append-child.ts";
import { openSqliteEventLog } from "./open-sqlite-event-log.ts";
import { toStoredId } from "../stored-id.ts";
import { readQuery } from "./read-query.ts";
import { APPLICATION_ID, SCHEMA_VERSION } from "./schema.ts";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "databuild-bel-"));
}

describeEventLogContract("sqlite", async () => {
  const dir = tempDir();
  const path = join(dir, "events.db");
  const log = await openSqliteEventLog(path, { pollIntervalMs: 10 });
  return { log, cleanup: async () => rmSync(dir, { recursive: true, force: true }), writers: childWriters(path) };
});

/** Writers in processes of their own, started together (fixtures/append-child.ts). */
function childWriters(path: string): OtherWriters {
  return async (scopes, count) => {
    const children = scopes.map((scope) => startAppendChild(path, scope, count, { hold: true }));
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.go();
    for (const { code, stderr } of await Promise.all(children.map((c) => c.exited))) {
      if (code !== 0) throw new Error(`an appending child exited with ${code}: ${stderr}`);
    }
  };
}

describe("SqliteEventLog", () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("creates the parent directory and a WAL-mode file stamped with databuild's application_id and schema version", async () => {
    const path = join(dir, "project", ".databuild", "databuild.db");
    const log = await openSqliteEventLog(path);
    await log.close();
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(raw.pragma("application_id", { simple: true })).toBe(APPLICATION_ID);
      expect(raw.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    } finally {
      raw.close();
    }
  });

  it("keeps events across close and reopen, and continues the offsets", async () => {
    const path = join(dir, "events.db");
    const events = sampleEvents(20);
    let log = await openSqliteEventLog(path);
    await log.append(events.slice(0, 10));
    await log.close();
    log = await openSqliteEventLog(path);
    expect(await log.head()).toBe(10);
    expect(await log.append(events.slice(10, 12))).toEqual([11, 12]);
    // An event stored before the reopen is still recognized as a duplicate.
    expect(await log.append([events[3]!])).toEqual([4]);
    await log.close();
    log = await openSqliteEventLog(path);
    expect((await log.read(0)).map((l) => l.event)).toEqual(events.slice(0, 12));
    await log.close();
  });

  it("watch sees appends made through another connection to the same file", async () => {
    const path = join(dir, "events.db");
    const watcher = await openSqliteEventLog(path, { pollIntervalMs: 10 });
    const writer = await openSqliteEventLog(path);
    try {
      const seen: LoggedEvent[] = [];
      const stop = watcher.watch(0, (events) => seen.push(...events));
      for (let k = 0; k < 20; k++) await writer.append(sampleEvents(5, undefined, k * 5));
      const deadline = Date.now() + 5000;
      while (seen.length < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      stop();
      expect(seen.map((l) => l.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    } finally {
      await writer.close();
      await watcher.close();
    }
  });

  it("a watch alone does not keep the process alive (its timer is unref'd)", () => {
    const module = pathToFileURL(join(import.meta.dirname, "open-sqlite-event-log.ts")).href;
    const code = [
      `import { openSqliteEventLog } from ${JSON.stringify(module)};`,
      `const log = await openSqliteEventLog(${JSON.stringify(join(dir, "events.db"))}, { pollIntervalMs: 10 });`,
      `log.watch(0, () => {});`,
      `console.log("watching");`,
    ].join("\n");
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd: join(import.meta.dirname, "..", "..", ".."),
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(run.stderr).toBe("");
    expect(run.signal).toBeNull(); // not killed by the timeout: it exited by itself
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("watching\n");
  });

  it("a read that meets damage fails with EventLogFileError naming the file", async () => {
    const path = join(dir, "events.db");
    const events = sampleEvents(2000);
    let log = await openSqliteEventLog(path);
    await log.append(events);
    await log.close();
    // Wipe the pages holding the oldest event; opening only checks the newest.
    const bytes = readFileSync(path);
    const id = toStoredId(events[0]!.eventId) as Buffer;
    for (let at = bytes.indexOf(id); at >= 0; at = bytes.indexOf(id, at + 1)) {
      const page = Math.floor(at / 4096);
      if (page > 0) bytes.fill(0xff, page * 4096, (page + 1) * 4096);
    }
    writeFileSync(path, bytes);
    log = await openSqliteEventLog(path);
    try {
      const error = await log.read(0).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventLogFileError);
      expect((error as EventLogFileError).problem).toBe("corrupt");
      expect((error as Error).message).toContain(path);
    } finally {
      await log.close();
    }
  });

  it("stores ids compactly and still tells events apart by their whole id", async () => {
    const path = join(dir, "events.db");
    const log = await openSqliteEventLog(path);
    const [a, b, c, d, e] = sampleEvents(5, {
      buildRequestId: "not-a-uuid",
      jobRunId: "01a2319995a27000be7aaa5bb459a95f",
    });
    // Same first 8 bytes (the key of the event id index), different ids; a UUID in capitals; text ids sharing a prefix.
    a!.eventId = "01a23199-95a2-7000-be7a-aa5bb459a95f";
    b!.eventId = "01a23199-95a2-7000-be7a-aa5bb459a960";
    c!.eventId = "01A23199-95A2-7000-BE7A-AA5BB459A95F";
    d!.eventId = "relayed-000001";
    e!.eventId = "relayed-000002";
    try {
      expect(await log.append([a!, b!, c!, d!, e!])).toEqual([1, 2, 3, 4, 5]);
      expect(await log.append([e!, c!, b!, a!, d!])).toEqual([5, 3, 2, 1, 4]);
      expect((await log.read(0)).map((l) => l.event)).toEqual([a, b, c, d, e]);
      expect((await log.read(0, { jobRunId: "01a2319995a27000be7aaa5bb459a95f" })).length).toBe(5);
      expect((await log.read(0, { buildRequestId: "not-a-uuid" })).length).toBe(5);
    } finally {
      await log.close();
    }
    const raw = new Database(path, { readonly: true });
    try {
      const stored = raw.prepare(`SELECT typeof(event_id) FROM events ORDER BY "offset"`).pluck().all();
      expect(stored).toEqual(["blob", "blob", "text", "text", "text"]);
      const plan = raw.prepare(`EXPLAIN QUERY PLAN ${FIND_BY_ID}`).all({ id: "x" }) as { detail: string }[];
      expect(plan.map((r) => r.detail).join("; ")).toMatch(/SEARCH events USING INDEX events_event_key/);
    } finally {
      raw.close();
    }
  });

  it("keeps a timestamp that whole milliseconds cannot hold in the payload", async () => {
    const path = join(dir, "events.db");
    const log = await openSqliteEventLog(path);
    const events = sampleEvents(4);
    events[0]!.timestamp = { ...events[0]!.timestamp!, nanos: 123_456_789 };
    events[1]!.timestamp = undefined;
    events[2]!.timestamp = { ...events[2]!.timestamp!, seconds: -5n, nanos: 1_000_000 };
    events[3]!.eventId = "text-id";
    try {
      await log.append(events);
      expect((await log.read(0)).map((l) => l.event)).toEqual(events);
    } finally {
      await log.close();
    }
  });

  it("reads through the indexes", async () => {
    const path = join(dir, "events.db");
    const log = await openSqliteEventLog(path);
    await log.append(sampleEvents(100));
    await log.close();
    const raw = new Database(path, { readonly: true });
    try {
      const plan = (filter: Parameters<typeof readQuery>[1]) => {
        const { sql, params } = readQuery(5, filter, 10);
        const rows = raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
        return rows.map((r) => r.detail).join("; ");
      };
      expect(plan(undefined)).toMatch(/SEARCH e USING INTEGER PRIMARY KEY \(rowid>\?\)/);
      // A build request or a job run: the range of offsets its events lie in (its span in `ids`).
      expect(plan({ buildRequestId: "br-1" })).toMatch(/SEARCH e USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
      expect(plan({ jobRunId: "run-1" })).toMatch(/SEARCH e USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
      expect(plan({ jobRunId: "run-1", kinds: ["logEntry"] })).toMatch(
        /SEARCH e USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/,
      );
      // No index on kinds: a tail after the cursor, checked row by row.
      expect(plan({ kinds: ["logEntry", "jobGraph"] })).toMatch(/SEARCH e USING INTEGER PRIMARY KEY \(rowid>\?\)/);
      // Partitions: a range of the per-partition index per ref, then each event by its offset, in order (no sort).
      const partitions = plan({ partitions: ["clean/date=2", "clean/date=3"], kinds: ["partitionManifest"] });
      expect(partitions).toMatch(/SEARCH x USING PRIMARY KEY \(partition=\? AND offset>\?\)/);
      expect(partitions).toMatch(/SEARCH e USING INTEGER PRIMARY KEY \(rowid=\?\)/);
      expect(partitions).not.toMatch(/TEMP B-TREE/);
    } finally {
      raw.close();
    }
  });
});
