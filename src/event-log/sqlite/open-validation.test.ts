import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isDatabuildError } from "../../core/errors.ts";
import { EventLogFileError, type EventLogFileProblem } from "../event-log-error.ts";
import { sampleEvent, sampleEvents } from "../sample-events.ts";
import { openSqliteEventLog } from "./open-sqlite-event-log.ts";
import { toStoredId } from "../stored-id.ts";
import { APPLICATION_ID, applyMigrations, MIGRATIONS, SCHEMA_VERSION, type Migration } from "./schema.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "databuild-bel-open-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/**
 * Opening `path` fails with `problem`, naming the path, and changes no file in
 * its directory. With `ownLog`, SQLite's -wal/-shm companions may appear:
 * checking a databuild log for damage means opening it read-only, which creates
 * them for a WAL-mode file (the main file still stays byte-identical).
 */
async function expectRefused(
  path: string,
  problem: EventLogFileProblem,
  message: RegExp,
  { ownLog = false } = {},
): Promise<EventLogFileError> {
  const before = sha256(path);
  const listing = readdirSync(dir).sort();
  const error = await openSqliteEventLog(path).then(
    () => expect.fail("opened"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EventLogFileError);
  const e = error as EventLogFileError;
  expect(e.problem).toBe(problem);
  expect(e.message).toContain(path);
  expect(e.message).toMatch(message);
  expect(e.code).toBe("EVENT_LOG_FILE");
  expect(e.kind).toBe("usage");
  expect(isDatabuildError(e)).toBe(true);
  expect(sha256(path)).toBe(before);
  const companions = (name: string) => ownLog && (name.endsWith("-wal") || name.endsWith("-shm"));
  expect(
    readdirSync(dir)
      .filter((n) => !companions(n))
      .sort(),
  ).toEqual(listing);
  return e;
}

/** A databuild event log with a few events, closed (so fully checkpointed into the main file). */
async function makeLog(path: string, events = 20): Promise<void> {
  const log = await openSqliteEventLog(path);
  await log.append(sampleEvents(events));
  await log.close();
}

describe("openSqliteEventLog refuses files that are not its event log, leaving them untouched", () => {
  it("a text file", async () => {
    const path = join(dir, "databuild.db");
    writeFileSync(path, "name: my_graph\njobs: []\n".repeat(20));
    await expectRefused(
      path,
      "not-sqlite",
      /not a databuild event log: it is not an SQLite database .*"name: my_graph/,
    );
  });

  it("random bytes", async () => {
    const path = join(dir, "databuild.db");
    writeFileSync(path, randomBytes(8192));
    await expectRefused(
      path,
      "not-sqlite",
      /not an SQLite database \(8192 bytes not starting with "SQLite format 3"\)/,
    );
  });

  it("a file shorter than the SQLite header", async () => {
    const path = join(dir, "databuild.db");
    writeFileSync(path, "SQLite format 3\0");
    await expectRefused(path, "not-sqlite", /not an SQLite database/);
  });

  it("another application's SQLite database with tables of its own", async () => {
    const path = join(dir, "databuild.db");
    const other = new Database(path);
    other.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada');");
    other.close();
    await expectRefused(
      path,
      "foreign",
      /an SQLite database with its own tables \(users\) and no databuild application_id/,
    );
  });

  it("another application's SQLite database in WAL mode (decided from the header: no -wal/-shm files appear)", async () => {
    const path = join(dir, "databuild.db");
    const other = new Database(path);
    other.pragma("journal_mode = WAL");
    other.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('x');");
    other.close();
    await expectRefused(path, "foreign", /an SQLite database with its own tables and no databuild application_id/);
  });

  it("an SQLite database stamped with another application_id", async () => {
    const path = join(dir, "databuild.db");
    const other = new Database(path);
    other.pragma("application_id = 1234");
    other.close();
    await expectRefused(path, "foreign", /another application \(application_id 0x000004d2\)/);
  });

  it("a file with the SQLite header followed by garbage", async () => {
    const path = join(dir, "databuild.db");
    const bytes = Buffer.concat([Buffer.from("SQLite format 3\0", "latin1"), Buffer.alloc(4096 - 16, 0xab)]);
    writeFileSync(path, bytes);
    await expectRefused(path, "corrupt", /corrupted SQLite database: its header has an invalid page size/);
    // With a plausible page size and page count, SQLite itself must judge the rest.
    bytes.writeUInt16BE(4096, 16);
    bytes.writeUInt32BE(1, 24);
    bytes.writeUInt32BE(1, 28);
    bytes.writeUInt32BE(1, 92);
    writeFileSync(path, bytes);
    await expectRefused(path, "corrupt", /corrupted SQLite database: file is not a database/);
  });

  it("a truncated event log", async () => {
    const path = join(dir, "databuild.db");
    await makeLog(path, 2000);
    truncateSync(path, Math.floor(readFileSync(path).length / 2));
    await expectRefused(
      path,
      "corrupt",
      /corrupted SQLite database: the file has \d+ bytes but its header says \d+ pages of 4096/,
    );
  });

  it("an event log whose newest event was overwritten", async () => {
    const path = join(dir, "databuild.db");
    const events = sampleEvents(2000);
    const log = await openSqliteEventLog(path);
    await log.append(events);
    await log.close();
    // Wipe every page holding the newest event's id (its table row and index
    // entry), keeping the file's length so the header still looks right.
    const bytes = readFileSync(path);
    const id = toStoredId(events.at(-1)!.eventId) as Buffer;
    for (let at = bytes.indexOf(id); at >= 0; at = bytes.indexOf(id, at + 1)) {
      const page = Math.floor(at / 4096);
      if (page > 0) bytes.fill(0xff, page * 4096, (page + 1) * 4096);
    }
    writeFileSync(path, bytes);
    await expectRefused(path, "corrupt", /corrupted/, { ownLog: true });
  });

  it("an event log from a newer databuild (schema version beyond this code's)", async () => {
    const path = join(dir, "databuild.db");
    await makeLog(path);
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    await expectRefused(
      path,
      "newer-schema",
      new RegExp(`newer databuild: its schema version is ${SCHEMA_VERSION + 1} .* Upgrade databuild`),
    );
  });

  it("a directory", async () => {
    const error = await openSqliteEventLog(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventLogFileError);
    expect((error as EventLogFileError).problem).toBe("unreadable");
  });
});

describe("openSqliteEventLog accepts", () => {
  it("an empty file and an empty SQLite database", async () => {
    for (const [name, make] of [
      ["empty.db", (p: string) => writeFileSync(p, "")],
      ["sqlite.db", (p: string) => new Database(p).exec("VACUUM").close()],
    ] as const) {
      const path = join(dir, name);
      make(path);
      const log = await openSqliteEventLog(path);
      expect(await log.append(sampleEvents(2))).toEqual([1, 2]);
      await log.close();
    }
  });

  it("an event log whose newest event is stored deflated (a long log line, as a build that died mid-flood leaves)", async () => {
    const path = join(dir, "deflated-tail.db");
    const long = sampleEvent(5);
    if (long.event.case !== "logEntry") expect.fail(`sample 5 is ${long.event.case}`);
    long.event.value.line = randomBytes(30_000).toString("base64");
    let log = await openSqliteEventLog(path);
    await log.append([...sampleEvents(3), long]);
    await log.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare(`SELECT kind FROM events ORDER BY "offset" DESC LIMIT 1`).pluck().get()).toBeLessThan(0);
    db.close();
    log = await openSqliteEventLog(path);
    const last = (await log.read(0)).at(-1)!.event;
    expect(last.event.case === "logEntry" && last.event.value.line).toBe(long.event.value.line);
    await log.close();
  });

  it("several processes' worth of concurrent opens of a new file", async () => {
    const path = join(dir, "new.db");
    const logs = await Promise.all(Array.from({ length: 4 }, () => openSqliteEventLog(path)));
    const offsets = await Promise.all(logs.map((log, i) => log.append(sampleEvents(5, { buildRequestId: `b${i}` }))));
    expect(new Set(offsets.flat()).size).toBe(20);
    await Promise.all(logs.map((log) => log.close()));
  });
});

describe("schema migrations", () => {
  it("stamp application_id and the schema version, and run only the steps not yet applied", async () => {
    const path = join(dir, "events.db");
    await makeLog(path, 3);
    const raw = new Database(path);
    try {
      expect(raw.pragma("application_id", { simple: true })).toBe(APPLICATION_ID);
      expect(raw.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
      // Adding a version is appending a step.
      const next = MIGRATIONS.length + 1;
      const added: Migration = {
        version: next,
        up: (db) => db.exec("CREATE INDEX events_kind_build_request ON events (kind, build_request)"),
      };
      raw.transaction(() => applyMigrations(raw, MIGRATIONS.length, [...MIGRATIONS, added])).immediate();
      expect(raw.pragma("user_version", { simple: true })).toBe(next);
      const indexes = raw.prepare("SELECT name FROM sqlite_schema WHERE type = 'index'").pluck().all();
      expect(indexes).toContain("events_kind_build_request");
      // Already at the last version: nothing runs again (the index would exist twice).
      raw.transaction(() => applyMigrations(raw, next, [...MIGRATIONS, added])).immediate();
    } finally {
      raw.close();
    }
  });

  it("refuse a list whose versions are not 1, 2, 3, ...", () => {
    const raw = new Database(":memory:");
    expect(() => applyMigrations(raw, 0, [{ version: 2, up: () => {} }])).toThrow(/expected 1/);
    raw.close();
  });
});
