import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LoggedEvent } from "../../core/event-log.ts";
import { describeEventLogContract } from "../event-log-contract.ts";
import { EventLogFileError } from "../event-log-error.ts";
import { sampleEvents } from "../sample-events.ts";
import { openSqliteEventLog } from "./open-sqlite-event-log.ts";
import { readQuery } from "./read-query.ts";
import { APPLICATION_ID, SCHEMA_VERSION } from "./schema.ts";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "databuild-bel-"));
}

describeEventLogContract("sqlite", async () => {
  const dir = tempDir();
  const log = await openSqliteEventLog(join(dir, "events.db"), { pollIntervalMs: 10 });
  return { log, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

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
    const id = Buffer.from(events[0]!.eventId);
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
      expect(plan(undefined)).toMatch(/USING INTEGER PRIMARY KEY/);
      expect(plan({ buildRequestId: "br-1" })).toMatch(/USING INDEX events_build_request_id/);
      expect(plan({ jobRunId: "run-1" })).toMatch(/USING INDEX events_job_run_id/);
      expect(plan({ kinds: ["logEntry", "jobGraph"] })).toMatch(/USING INDEX events_kind/);
    } finally {
      raw.close();
    }
  });
});
