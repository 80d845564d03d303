// What a user sees when the PostgreSQL log cannot be used: each error names
// the log (its URL without the password) or the server (HOST:PORT), says
// what is wrong, and never shows the password. The server going away in
// the middle of appends runs on a server of its own, stopped and restarted.
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { LoggedEvent } from "../../core/event-log.ts";
import { admin, freshDatabase, testPostgresUrl, type FreshDatabase } from "../../testing/fresh-database.ts";
import {
  PASSWORD_ROLE,
  PASSWORD_ROLE_SECRET,
  startPostgresServer,
  type PostgresServer,
} from "../../testing/postgres-server.ts";
import { EventLogFileError, EventLogStorageError } from "../event-log-error.ts";
import { sampleEvents } from "../sample-events.ts";
import { openPostgresEventLog } from "./open-postgres-event-log.ts";

const SECRET = "s3cret-do-not-print";

/** `url` with `user` and `password` in it. */
function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.href;
}

async function openError(url: string, options: Parameters<typeof openPostgresEventLog>[1] = {}): Promise<Error> {
  const result = await openPostgresEventLog(url, options).then(
    async (log) => {
      await log.close();
      return undefined;
    },
    (e: unknown) => e as Error,
  );
  if (result === undefined) throw new Error(`opening ${url} succeeded`);
  return result;
}

const databases: FreshDatabase[] = [];
afterEach(async () => {
  for (const db of databases.splice(0)) await db.drop();
});

describe("PostgresEventLog: errors on opening", () => {
  it("a URL that does not parse is a usage error that shows no password", async () => {
    for (const url of [
      `postgres://ada:${SECRET}@[bad/db`,
      `postgres://ada:${SECRET}@host:port/db`,
      `postgres://h/a/b`,
    ]) {
      const error = await openError(url);
      expect(error).toBeInstanceOf(EventLogFileError);
      expect((error as EventLogFileError).kind).toBe("usage");
      expect(error.message).toMatch(/cannot open the event log: (it is not a valid URL|its database name "a\/b")/);
      expect(error.message).toContain("postgres://");
      expect(error.message).not.toContain(SECRET);
    }
  });

  it("a refused connection names the host and port", async () => {
    const port = await freePort();
    const error = await openError(`postgres://ada:${SECRET}@127.0.0.1:${port}/db`);
    expect(error).toBeInstanceOf(EventLogStorageError);
    expect((error as EventLogStorageError).problem).toBe("unavailable");
    expect(error.message).toContain(
      `postgres://ada@127.0.0.1:${port}/db: the event log's database server is unavailable`,
    );
    expect(error.message).toContain(`nothing accepts connections at 127.0.0.1:${port} (ECONNREFUSED)`);
    expect(error.message).not.toContain(SECRET);
  });

  it("a wrong password, and a user who may not create the tables, are told apart; the right one works", async () => {
    const db = await freshDatabase();
    databases.push(db);
    const wrong = await openError(withCredentials(db.url, PASSWORD_ROLE, SECRET));
    expect(wrong).toBeInstanceOf(EventLogStorageError);
    expect((wrong as EventLogStorageError).problem).toBe("permission-denied");
    expect(wrong.message).toContain(`refused the password of user "${PASSWORD_ROLE}" (28P01)`);
    expect(wrong.message).toContain(`postgres://${PASSWORD_ROLE}@127.0.0.1:`);
    expect(wrong.message).not.toContain(SECRET);

    const right = withCredentials(db.url, PASSWORD_ROLE, PASSWORD_ROLE_SECRET);
    const denied = await openError(right);
    expect((denied as EventLogStorageError).problem).toBe("read-only");
    expect(denied.message).toMatch(new RegExp(`user "${PASSWORD_ROLE}" lacks a privilege on database "${db.name}"`));
    expect(denied.message).toContain("GRANT CREATE ON SCHEMA public");
    expect(denied.message).not.toContain(PASSWORD_ROLE_SECRET);
    // Nothing was left behind by the refused attempt.
    expect(await tables(db.url)).toEqual([]);

    await admin(testPostgresUrl(), `ALTER DATABASE ${db.name} OWNER TO ${PASSWORD_ROLE}`);
    const log = await openPostgresEventLog(right);
    expect(await log.append(sampleEvents(2))).toEqual([1, 2]);
    await log.close();
  });

  it("a database that does not exist is named, with how to create it", async () => {
    const url = new URL(testPostgresUrl());
    url.pathname = "/no_such_database";
    url.password = SECRET;
    const error = await openError(url.href);
    expect(error).toBeInstanceOf(EventLogFileError);
    expect((error as EventLogFileError).kind).toBe("usage");
    expect(error.message).toMatch(
      /has no database "no_such_database" \(3D000\)\. Create it \(createdb -h 127\.0\.0\.1 -p \d+ no_such_database\)/,
    );
    expect(error.message).not.toContain(SECRET);
  });
});

describe("PostgresEventLog: the server going away", () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgresServer();
  });
  afterAll(async () => {
    await server?.remove();
  });

  it("a session ended by the server (pg_terminate_backend) is replaced: the next operation works", async () => {
    const url = server.url();
    await admin(url, `CREATE DATABASE terminated`);
    const log = await openPostgresEventLog(server.url("terminated"));
    try {
      await log.append(sampleEvents(2));
      await admin(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'terminated'`);
      expect(await log.append(sampleEvents(2, undefined, 2))).toEqual([3, 4]);
      expect(await log.read(0)).toHaveLength(4);
    } finally {
      await log.close();
    }
  });

  it("stopped mid-append: appends reject clearly, nothing acknowledged is lost, and the log works again after a restart", async () => {
    await admin(server.url(), `CREATE DATABASE stopped`);
    const url = withCredentials(server.url("stopped"), "postgres", SECRET); // trust: the password is never asked for
    const log = await openPostgresEventLog(url, { pollIntervalMs: 50 });
    const acknowledged = new Map<number, string>();
    let failure: unknown;
    const watched: LoggedEvent[] = [];
    const stop = log.watch(0, (events) => watched.push(...events));
    const writers = [0, 1, 2, 3].map(async (w) => {
      for (let k = 0; failure === undefined; k++) {
        const events = sampleEvents(1 + (k % 4), { buildRequestId: `w${w}` }, k * 4);
        try {
          const at = await log.append(events);
          at.forEach((o, i) => acknowledged.set(o, events[i]!.eventId));
        } catch (error) {
          failure ??= error;
        }
      }
    });
    while (acknowledged.size < 500) await new Promise((r) => setTimeout(r, 5));
    await server.stop("immediate");
    await Promise.all(writers);

    expect(failure).toBeInstanceOf(EventLogStorageError);
    const error = failure as EventLogStorageError;
    expect(error.problem).toBe("unavailable");
    expect(error.operation).toBe("append");
    expect(error.message).toContain(`postgres://postgres@127.0.0.1:${server.port}/stopped`);
    expect(error.message).toMatch(
      /may or may not have been committed, and nothing after them was, so the command stopped/,
    );
    expect(error.message).not.toContain(SECRET);
    // While it is down, appends and opening say so, naming the server.
    const later = await log.append(sampleEvents(1, undefined, 9999)).then(
      () => new Error("the append succeeded"),
      (e: unknown) => e as Error,
    );
    expect(later).toBeInstanceOf(EventLogStorageError);
    expect(later.message).toContain(`127.0.0.1:${server.port}`);
    const opening = await openError(url);
    expect(opening.message).toContain(`nothing accepts connections at 127.0.0.1:${server.port} (ECONNREFUSED)`);

    await server.start();
    const again = await openPostgresEventLog(url);
    try {
      const all = await again.read(0);
      const stored = new Map(all.map((l) => [l.offset, l.event.eventId]));
      for (const [offset, id] of acknowledged) expect(stored.get(offset), `offset ${offset}`).toBe(id);
      expect(all.map((l) => l.offset)).toEqual(all.map((_, i) => i + 1)); // dense: nothing half-written
      const [next] = await again.append(sampleEvents(1, { buildRequestId: "after" }));
      expect(next).toBe(all.length + 1);
      // The log opened before the stop works again too, and its watch resumed where it was.
      expect(await log.append(sampleEvents(1, { buildRequestId: "old" }, 5000))).toEqual([all.length + 2]);
      const deadline = Date.now() + 10_000;
      while (watched.length < all.length + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(watched.map((l) => l.offset)).toEqual(Array.from({ length: all.length + 2 }, (_, i) => i + 1));
    } finally {
      stop();
      await again.close();
      await log.close();
    }
  }, 90_000);
});

async function tables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)).rows.map(
      (r: { tablename: string }) => r.tablename,
    );
  } finally {
    await client.end();
  }
}

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
