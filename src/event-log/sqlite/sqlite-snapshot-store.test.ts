import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeSnapshotStoreContract } from "../snapshot-store-contract.ts";
import { openSqliteEventLog } from "./open-sqlite-event-log.ts";
import { MIGRATIONS } from "./schema.ts";
import { applyMigrations } from "./schema.ts";

const tempDir = () => mkdtempSync(join(tmpdir(), "databuild-snapshots-"));

describeSnapshotStoreContract("sqlite", async () => {
  const dir = tempDir();
  const log = await openSqliteEventLog(join(dir, "events.db"));
  return {
    store: log.snapshots,
    cleanup: async () => {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe("SQLite snapshots", () => {
  let dir: string;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("a damaged snapshot is reported as a problem, not restored", async () => {
    const path = join(dir, "events.db");
    const log = await openSqliteEventLog(path);
    await log.snapshots.save({ name: "m", version: 1, offset: 3, state: { big: "x".repeat(1000) } });
    await log.close();
    const raw = new Database(path);
    raw.prepare(`UPDATE snapshots SET state = CAST(zeroblob(20) AS BLOB) WHERE name = 'm'`).run();
    raw.close();
    const again = await openSqliteEventLog(path, { readOnly: true });
    try {
      expect(await again.snapshots.load("m")).toEqual({ problem: "its snapshot is damaged (checksum mismatch)" });
    } finally {
      await again.close();
    }
  });

  it("a read-only log loads snapshots and, the file being writable, saves newer ones as a cache (never an event)", async () => {
    const path = join(dir, "events.db");
    const log = await openSqliteEventLog(path);
    await log.snapshots.save({ name: "m", version: 1, offset: 3, state: "kept" });
    await log.close();
    const reader = await openSqliteEventLog(path, { readOnly: true });
    try {
      expect((await reader.snapshots.load("m")).snapshot).toMatchObject({ offset: 3, state: "kept" });
      await reader.snapshots.save({ name: "m", version: 1, offset: 9, state: "new" });
      await reader.snapshots.save({ name: "m", version: 1, offset: 5, state: "older" });
    } finally {
      await reader.close();
    }
    const again = await openSqliteEventLog(path, { readOnly: true });
    try {
      expect((await again.snapshots.load("m")).snapshot).toMatchObject({ offset: 9, state: "new" });
      expect(await again.head()).toBe(0);
    } finally {
      await again.close();
    }
  });

  it("a read-only log whose file may not be written keeps its old snapshot, without an error", async () => {
    const path = join(dir, "events.db");
    const log = await openSqliteEventLog(path);
    await log.snapshots.save({ name: "m", version: 1, offset: 3, state: "kept" });
    await log.close();
    const reader = await openSqliteEventLog(path, { readOnly: true });
    // A writer holds the write lock past the cache's 1 s wait (root may write any file, so a lock stands in for chmod).
    const holder = new Database(path);
    holder.prepare("BEGIN IMMEDIATE").run();
    try {
      await reader.snapshots.save({ name: "m", version: 1, offset: 9, state: "new" });
    } finally {
      holder.prepare("ROLLBACK").run();
      holder.close();
      await reader.close();
    }
    const again = await openSqliteEventLog(path, { readOnly: true });
    expect((await again.snapshots.load("m")).snapshot).toMatchObject({ offset: 3, state: "kept" });
    await again.close();
  });

  it("a log of schema version 1 (before snapshots) reads without any, read-only, and gains the table when opened to write", async () => {
    const path = join(dir, "events.db");
    const old = new Database(path);
    old.pragma("journal_mode = WAL");
    old.transaction(() => applyMigrations(old, 0, MIGRATIONS.slice(0, 1)))();
    old.close();
    const reader = await openSqliteEventLog(path, { readOnly: true });
    expect(await reader.snapshots.load("m")).toEqual({});
    await reader.close();
    const writer = await openSqliteEventLog(path);
    await writer.snapshots.save({ name: "m", version: 1, offset: 1, state: 1 });
    expect((await writer.snapshots.load("m")).snapshot?.state).toBe(1);
    await writer.close();
  });

  it("kill -9 while snapshots are being written leaves a sound snapshot (the old or the new one)", async () => {
    const path = join(dir, "events.db");
    const log = await openSqliteEventLog(path);
    await log.snapshots.save({ name: "m", version: 1, offset: 1, state: { n: 1, pad: "p".repeat(200_000) } });
    await log.close();
    // A writer that saves ever newer large snapshots as fast as it can, killed at a random moment.
    const script = `
      import { openSqliteEventLog } from ${JSON.stringify(join(import.meta.dirname, "open-sqlite-event-log.ts"))};
      const log = await openSqliteEventLog(${JSON.stringify(path)});
      process.stdout.write("ready\\n");
      for (let n = 2; ; n++) await log.snapshots.save({ name: "m", version: 1, offset: n, state: { n, pad: "p".repeat(200_000) } });
    `;
    let newest = 1;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
      await new Promise((r) => setTimeout(r, 100 + round * 137));
      child.kill("SIGKILL");
      await new Promise((r) => child.once("close", r));
      const reader = await openSqliteEventLog(path, { readOnly: true });
      try {
        const { snapshot, problem } = await reader.snapshots.load("m");
        expect(problem).toBeUndefined();
        expect((snapshot!.state as { n: number }).n).toBe(snapshot!.offset);
        newest = Math.max(newest, snapshot!.offset);
      } finally {
        await reader.close();
      }
    }
    // The writer did replace the snapshot before it was killed (else this proved nothing).
    expect(newest).toBeGreaterThan(1);
  }, 60_000);
});
