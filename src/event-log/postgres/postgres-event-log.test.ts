// The PostgreSQL event log beyond the shared contract: its schema, what it
// refuses, commit order under many writer processes, and notifications as
// a hint only. Each test has a database of its own on the run's server.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import type { EventLog, LoggedEvent } from "../../core/event-log.ts";
import { freshDatabase, type FreshDatabase } from "../../testing/fresh-database.ts";
import { startAppendChild, type AppendChild } from "../fixtures/run-append-child.ts";
import { EventLogFileError } from "../event-log-error.ts";
import { sampleEvents } from "../sample-events.ts";
import { openPostgresEventLog } from "./open-postgres-event-log.ts";
import type { PostgresEventLog } from "./postgres-event-log.ts";
import { APPLICATION, SCHEMA_VERSION } from "./schema.ts";
import { appendUnlocked, lockLog, storeRows } from "./append-transaction.ts";
import { toEventRow } from "../event-row.ts";

const databases: FreshDatabase[] = [];
const logs: EventLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
  for (const db of databases.splice(0)) await db.drop();
});

async function database(): Promise<string> {
  const db = await freshDatabase();
  databases.push(db);
  return db.url;
}

async function open(url: string, options: Parameters<typeof openPostgresEventLog>[1] = {}): Promise<PostgresEventLog> {
  const log = await openPostgresEventLog(url, { pollIntervalMs: 20, ...options });
  logs.push(log);
  return log;
}

/** Runs statements on a connection of its own, outside any log. */
async function sql<R = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as R[];
  } finally {
    await client.end();
  }
}

/** What the database holds: every table of the public schema with its row count. */
async function contents(url: string): Promise<Record<string, number>> {
  const tables = await sql<{ name: string }>(
    url,
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables)
    counts[name] = Number((await sql<{ n: string }>(url, `SELECT count(*) AS n FROM "${name}"`))[0]!.n);
  return counts;
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("PostgresEventLog: schema", () => {
  it("initializes an empty database, stamped with databuild's name and schema version", async () => {
    const url = await database();
    const log = await open(url);
    await log.append(sampleEvents(3));
    expect(await sql(url, `SELECT application, version, head::int AS head FROM databuild_log`)).toEqual([
      { application: APPLICATION, version: SCHEMA_VERSION, head: 3 },
    ]);
    expect(Object.keys(await contents(url))).toEqual(["databuild_log", "events", "partition_events", "snapshots"]);
    // Opening again (another process, a later command) changes nothing and continues the offsets.
    const again = await open(url);
    expect(await again.append(sampleEvents(1, undefined, 3))).toEqual([4]);
    expect((await sql(url, `SELECT count(*)::int AS n FROM databuild_log`))[0]).toEqual({ n: 1 });
  });

  it("stores UUIDs as 16 bytes and tells other ids apart by their whole text", async () => {
    const url = await database();
    const log = await open(url);
    const [a, b, c, d, e] = sampleEvents(5, { buildRequestId: "not-a-uuid", jobRunId: "0123456789abcdef" });
    a!.eventId = "01a23199-95a2-7000-be7a-aa5bb459a95f";
    b!.eventId = "01A23199-95A2-7000-BE7A-AA5BB459A95F"; // a different string: a different event
    c!.eventId = "relayed-00000001"; // 16 characters, the length of a packed UUID
    d!.eventId = "relayed-0000001"; // and one shorter
    e!.eventId = "\u0000relayed-0000001"; // what d would look like with the prefix byte
    expect(await log.append([a!, b!, c!, d!, e!])).toEqual([1, 2, 3, 4, 5]);
    expect(await log.append([e!, d!, c!, b!, a!])).toEqual([5, 4, 3, 2, 1]);
    expect((await log.read(0)).map((l) => l.event)).toEqual([a, b, c, d, e]);
    expect(await log.read(0, { jobRunId: "0123456789abcdef" })).toHaveLength(5);
    const lengths = await sql<{ n: number }>(url, `SELECT length(event_id) AS n FROM events ORDER BY "offset"`);
    expect(lengths.map((r) => r.n)).toEqual([16, 37, 17, 15, 17]);
  });

  it("refuses a database holding other tables, and leaves it as it was", async () => {
    const url = await database();
    await sql(url, `CREATE TABLE accounts (id int PRIMARY KEY, owner text); INSERT INTO accounts VALUES (1, 'ada')`);
    await sql(url, `CREATE TABLE events (x int)`);
    const before = await contents(url);
    const withPassword = url.replace("postgres@", "postgres:hunter2@");
    for (const options of [{}, { readOnly: true }, { readOnly: true, mustExist: true }]) {
      const error = await openPostgresEventLog(withPassword, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventLogFileError);
      expect((error as EventLogFileError).problem).toBe("foreign");
      const message = (error as Error).message;
      expect(message).toContain("not a databuild event log");
      expect(message).toContain("accounts, events");
      expect(message).toContain("databuild left it untouched");
      expect(message).toContain(url); // the URL, without its password
      expect(message).not.toContain("hunter2");
    }
    expect(await contents(url)).toEqual(before);
    expect(await sql(url, `SELECT * FROM accounts`)).toEqual([{ id: 1, owner: "ada" }]);
  });

  it("refuses a log of a newer schema version, and leaves it as it was", async () => {
    const url = await database();
    const log = await openPostgresEventLog(url);
    await log.append(sampleEvents(2));
    await log.close();
    await sql(url, `UPDATE databuild_log SET version = $1`, [SCHEMA_VERSION + 1]);
    const before = await contents(url);
    for (const options of [{}, { readOnly: true }]) {
      const error = await openPostgresEventLog(url, options).catch((e: unknown) => e);
      expect((error as EventLogFileError).problem).toBe("newer-schema");
      expect((error as Error).message).toMatch(/schema version is \d+; this databuild reads versions up to \d+/);
    }
    expect(await contents(url)).toEqual(before);
  });

  it("its sessions cannot hold the log's lock for ever: an idle transaction is ended by the server", async () => {
    const url = await database();
    const log = await open(url, { idleInTransactionTimeoutMs: 300 });
    const pool = (log as unknown as { pool: pg.Pool }).pool;
    expect((await pool.query(`SHOW idle_in_transaction_session_timeout`)).rows).toEqual([
      { idle_in_transaction_session_timeout: "300ms" },
    ]);
    // A session of the log that took the lock and then stalled (its process paused) ...
    const stalled = await pool.connect();
    stalled.on("error", () => {});
    await stalled.query(`BEGIN`);
    await stalled.query(`SELECT head FROM databuild_log FOR UPDATE`);
    // ... is ended by the server, and another writer goes on.
    const other = await open(url);
    expect(await other.append(sampleEvents(2))).toEqual([1, 2]);
    stalled.release(true);
  });

  it("several processes opening an empty database at once create the tables once", async () => {
    const url = await database();
    const children = ["a", "b", "c", "d"].map((scope) => startAppendChild(url, scope, 50));
    for (const { code, stderr } of await Promise.all(children.map((c) => c.exited))) expect(code, stderr).toBe(0);
    const log = await open(url);
    const all = await log.read(0);
    expect(all.map((l) => l.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });
});

describe("PostgresEventLog: read-only opening", () => {
  it("with mustExist, a database without the log's tables is no event log; without it, an empty log until one is written", async () => {
    const url = await database();
    const missing = await openPostgresEventLog(url, { readOnly: true, mustExist: true }).catch((e: unknown) => e);
    expect((missing as EventLogFileError).problem).toBe("missing");
    expect((missing as Error).message).toMatch(
      /no build event log there: database "t_\w+" on 127\.0\.0\.1:\d+ has no databuild tables/,
    );
    const reader = await open(url, { readOnly: true });
    expect(await reader.read(0)).toEqual([]);
    expect(await reader.head()).toBe(0);
    expect(await reader.snapshots.load("m")).toEqual({});
    // Nothing was created by reading.
    expect(await contents(url)).toEqual({});
    const writer = await open(url);
    await writer.append(sampleEvents(4));
    expect(await reader.head()).toBe(4);
    expect(await reader.read(0)).toHaveLength(4);
  });

  it("never writes: appends throw, snapshots are not saved, and its sessions are read-only on the server", async () => {
    const url = await database();
    const writer = await open(url);
    await writer.append(sampleEvents(2));
    await writer.snapshots.save({ name: "m", version: 1, offset: 2, state: "kept" });
    const reader = await open(url, { readOnly: true });
    await expect(reader.append(sampleEvents(1, undefined, 2))).rejects.toThrow(/opened read-only/);
    await expect(reader.appendAtomically(0, undefined, () => ({ append: [], result: 0 }))).rejects.toThrow(/read-only/);
    await reader.snapshots.save({ name: "m", version: 1, offset: 9, state: "new" });
    await expect(reader.snapshots.clear()).rejects.toThrow(/read-only/);
    expect((await reader.snapshots.load("m")).snapshot).toMatchObject({ offset: 2, state: "kept" });
    const sessions = await sql<{ setting: string }>(
      url,
      `SELECT setting FROM pg_settings WHERE name = 'default_transaction_read_only'`,
    );
    expect(sessions).toEqual([{ setting: "off" }]); // this test's own session: the server default
    // The reader's pool runs with default_transaction_read_only=on: the server refuses a write through it.
    const pool = (reader as unknown as { pool: pg.Pool }).pool;
    await expect(pool.query(`DELETE FROM snapshots`)).rejects.toThrow(/read-only transaction/);
  });
});

describe("PostgresEventLog: commit order", () => {
  it("8 writer processes and 3 tailing readers: every reader sees every event exactly once, in order", async () => {
    const url = await database();
    await (await open(url)).head(); // the tables, before the writers race to create them
    const writers: AppendChild[] = Array.from({ length: 8 }, (_, w) =>
      startAppendChild(url, `writer-${w}`, 400, { hold: true }),
    );
    await Promise.all(writers.map((c) => c.ready));
    let writing = true;
    const tail = async (log: EventLog) => {
      const seen: LoggedEvent[] = [];
      let cursor = 0;
      for (;;) {
        const finished = !writing;
        const batch = await log.read(cursor, undefined, 97);
        for (const l of batch) {
          expect(l.offset).toBe(cursor + 1); // dense and in order: nothing skipped, nothing twice
          cursor = l.offset;
          seen.push(l);
        }
        if (finished && batch.length === 0) return seen;
        if (batch.length === 0) await new Promise((r) => setTimeout(r, 1));
      }
    };
    // Two readers polling with read(cursor), each on a pool of its own, and one watch.
    const readers = [await open(url), await open(url)].map(tail);
    const watcher = await open(url, { pollIntervalMs: 5 });
    const watched: LoggedEvent[] = [];
    const stop = watcher.watch(0, (events) => watched.push(...events));
    for (const c of writers) c.go();
    const exits = await Promise.all(writers.map((c) => c.exited));
    writing = false;
    for (const { code, stderr } of exits) expect(code, stderr).toBe(0);
    const seen = await Promise.all(readers);
    await until(() => watched.length >= 3200, "the watch to catch up");
    stop();
    const all = await watcher.read(0);
    expect(all).toHaveLength(3200);
    for (const got of [...seen, watched]) {
      expect(got.map((l) => l.offset)).toEqual(all.map((l) => l.offset));
      expect(got.map((l) => l.event.eventId)).toEqual(all.map((l) => l.event.eventId));
    }
    // Each writer's acknowledged offsets are where its events are.
    const byId = new Map(all.map((l) => [l.event.eventId, l.offset]));
    for (const c of writers) for (const a of c.acknowledged) expect(byId.get(a.eventId)).toBe(a.offset);
    // The writers interleaved (else this proved little).
    const owners = all.map((l) => l.event.buildRequestId);
    expect(owners.filter((o, i) => i > 0 && o !== owners[i - 1]).length).toBeGreaterThan(50);
  }, 120_000);

  it("a transaction holding the log's lock keeps every other writer's offsets from being drawn or seen", async () => {
    const url = await database();
    const log = await open(url);
    await log.append(sampleEvents(1));
    // A writer that stalls inside its transaction, lock held (as a slow commit would).
    const stalled = new pg.Client({ connectionString: url });
    await stalled.connect();
    try {
      await stalled.query(`BEGIN`);
      await stalled.query(`SELECT head FROM databuild_log FOR UPDATE`);
      const other = await open(url);
      let acknowledged: number[] | undefined;
      const pending = other.append(sampleEvents(2, undefined, 1)).then((at) => (acknowledged = at));
      await new Promise((r) => setTimeout(r, 500));
      expect(acknowledged).toBeUndefined();
      expect(await log.read(1)).toEqual([]);
      await stalled.query(`ROLLBACK`);
      expect(await pending).toEqual([2, 3]);
    } finally {
      await stalled.end();
    }
  });

  it("a plain sequence would not do: on this server, a number drawn later can commit first", async () => {
    // Why the lock (append-transaction.ts): shown with a bigserial on the same server.
    const url = await database();
    await sql(url, `CREATE TABLE seq_log (n bigserial PRIMARY KEY, v text)`);
    const [first, second] = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })];
    await first.connect();
    await second.connect();
    try {
      await first.query(`BEGIN`);
      await first.query(`INSERT INTO seq_log (v) VALUES ('first')`);
      await second.query(`INSERT INTO seq_log (v) VALUES ('second')`);
      // A reader now sees 2 and moves its cursor past 1, which commits afterwards.
      expect(await sql(url, `SELECT n::int AS n FROM seq_log`)).toEqual([{ n: 2 }]);
      await first.query(`COMMIT`);
      expect(await sql(url, `SELECT n::int AS n FROM seq_log WHERE n > 2`)).toEqual([]);
      expect(await sql(url, `SELECT n::int AS n FROM seq_log ORDER BY n`)).toEqual([{ n: 1 }, { n: 2 }]);
    } finally {
      await first.end();
      await second.end();
    }
  });
});

describe("PostgresEventLog: relayed events racing", () => {
  it("two writers appending the same events at once store each once, and both get its offset", async () => {
    const url = await database();
    const [left, right] = [await open(url), await open(url)];
    const events = sampleEvents(300);
    const batches = Array.from({ length: 60 }, (_, b) => events.slice(b * 5, b * 5 + 5));
    const [l, r] = await Promise.all(
      [left, right].map(async (log) => (await Promise.all(batches.map((batch) => log.append(batch)))).flat()),
    );
    expect(l).toEqual(r);
    const all = await left.read(0);
    expect(all.map((x) => x.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const byId = new Map(all.map((x) => [x.event.eventId, x.offset]));
    events.forEach((e, i) => expect(byId.get(e.eventId)).toBe(l![i]));
  });

  it("a batch that waited for the lock while its holder stored one of its events stores nothing, then goes under the lock", async () => {
    const url = await database();
    const log = await open(url);
    await log.append(sampleEvents(2));
    const [a, b, c] = sampleEvents(3, { buildRequestId: "race" }, 10);
    const rows = [a!, b!, c!].map(toEventRow);
    const pool = (log as unknown as { pool: pg.Pool }).pool;
    // Another writer holds the lock, and stores b ...
    const holder = await pool.connect();
    try {
      await holder.query("BEGIN");
      const head = await lockLog(holder);
      // ... while this batch's statement, which looked its ids up before waiting, waits for the lock.
      const racing = appendUnlocked(pool, rows, false);
      await new Promise((r) => setTimeout(r, 300));
      expect(await storeRows(holder, [rows[1]!], head, false)).toEqual({ offsets: [3], head: 3 });
      await holder.query("COMMIT");
      expect(await racing).toBeUndefined();
    } finally {
      holder.release();
    }
    // Nothing of the batch was stored: only the other writer's b, after the first two events.
    expect((await log.read(2)).map((x) => x.event.eventId)).toEqual([b!.eventId]);
    expect(await log.head()).toBe(3);
    // Under the lock, the stored copy is found: only a and c are new. (The log does this by itself.)
    expect(await log.append([a!, b!, c!, a!])).toEqual([4, 3, 5, 4]);
    expect((await log.read(2)).map((x) => x.event.eventId)).toEqual([b!.eventId, a!.eventId, c!.eventId]);
  });
});

describe("PostgresEventLog: notifications are a hint", () => {
  /** Waits up to `ms` for `seen` to reach `n` events; returns whether it did. */
  async function within(ms: number, seen: LoggedEvent[], n: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (seen.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return seen.length >= n;
  }

  it("a notification wakes a watch at once, long before its next poll", async () => {
    const url = await database();
    const watcher = await open(url, { pollIntervalMs: 60_000 });
    const writer = await open(url);
    const seen: LoggedEvent[] = [];
    const stop = watcher.watch(0, (events) => seen.push(...events));
    await new Promise((r) => setTimeout(r, 300)); // the first poll found nothing; listening
    await writer.append(sampleEvents(3));
    expect(await within(3000, seen, 3)).toBe(true);
    stop();
  });

  it("without notifications (a writer that sends none), watches still deliver by polling", async () => {
    const url = await database();
    const writer = await open(url, { notify: false });
    const slow = await open(url, { pollIntervalMs: 60_000 });
    const polling = await open(url, { pollIntervalMs: 100 });
    const slowSeen: LoggedEvent[] = [];
    const seen: LoggedEvent[] = [];
    const stops = [slow.watch(0, (e) => slowSeen.push(...e)), polling.watch(0, (e) => seen.push(...e))];
    await new Promise((r) => setTimeout(r, 300));
    await writer.append(sampleEvents(3));
    expect(await within(3000, seen, 3)).toBe(true);
    // The slow watch heard nothing, so it is still waiting for its next poll: the quick one polled.
    expect(slowSeen).toEqual([]);
    for (const stop of stops) stop();
  });

  it("when the listening session is cut, polling delivers what it missed and listening resumes", async () => {
    const url = await database();
    const watcher = await open(url, { pollIntervalMs: 300 });
    const writer = await open(url);
    const seen: LoggedEvent[] = [];
    const stop = watcher.watch(0, (events) => seen.push(...events));
    let pid: number | undefined;
    const deadline = Date.now() + 5000;
    while ((pid = await watcher.listeningBackendPid()) === undefined && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(pid).toBeDefined();
    await sql(url, `SELECT pg_terminate_backend($1)`, [pid]);
    await writer.append(sampleEvents(5));
    expect(await within(5000, seen, 5)).toBe(true);
    // It listens again on a new session.
    let again: number | undefined;
    const retry = Date.now() + 10_000;
    while (((again = await watcher.listeningBackendPid()) === undefined || again === pid) && Date.now() < retry)
      await new Promise((r) => setTimeout(r, 50));
    expect(again).toBeDefined();
    expect(again).not.toBe(pid);
    await writer.append(sampleEvents(2, undefined, 5));
    expect(await within(5000, seen, 7)).toBe(true);
    expect(seen.map((l) => l.offset)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    stop();
  });

  it("a watch alone does not keep the process alive (its timer and its listening session are unref'd)", async () => {
    const url = await database();
    const module = pathToFileURL(join(import.meta.dirname, "open-postgres-event-log.ts")).href;
    const code = [
      `import { openPostgresEventLog } from ${JSON.stringify(module)};`,
      `const log = await openPostgresEventLog(${JSON.stringify(url)}, { pollIntervalMs: 10 });`,
      `await log.append([]);`,
      `log.watch(0, () => {});`,
      `await new Promise((r) => setTimeout(r, 300));`,
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
});
