// Which backend a --db location opens, and how locations are shown.
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "../core/errors.ts";
import type { EventLog } from "../core/event-log.ts";
import { sampleEvents } from "../event-log/sample-events.ts";
import { freshDatabase, type FreshDatabase } from "../testing/fresh-database.ts";
import { eventLogLocation, shownLocation } from "./event-log-location.ts";
import { NoEventLogError, openEventLog } from "./open-event-log.ts";

const databases: FreshDatabase[] = [];
const logs: EventLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
  for (const db of databases.splice(0)) await db.drop();
});

describe("openEventLog", () => {
  it("opens a PostgreSQL log for postgres:// and postgresql:// URLs", async () => {
    const db = await freshDatabase();
    databases.push(db);
    const writer = await openEventLog(db.url);
    logs.push(writer);
    expect(writer.constructor.name).toBe("PostgresEventLog");
    await writer.append(sampleEvents(2));
    const reader = await openEventLog(db.url.replace(/^postgres:/, "postgresql:"), { readOnly: true, mustExist: true });
    logs.push(reader);
    expect(reader.constructor.name).toBe("PostgresEventLog");
    expect(await reader.head()).toBe(2);
  });

  it("a read command on a database without a log gets NoEventLogError, naming the URL without its password", async () => {
    const db = await freshDatabase();
    databases.push(db);
    const url = new URL(db.url);
    url.password = "hunter2";
    const error = await openEventLog(url.href, { readOnly: true, mustExist: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoEventLogError);
    expect((error as Error).message).toBe(
      `no build event log at ${db.url}: nothing has been built with this graph yet (or pass --db PATH or URL)`,
    );
  });

  it("refuses other URL schemes as a usage error", async () => {
    const error = await openEventLog("mysql://ada:hunter2@host/db").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(
      /unsupported event log URL "mysql:\/\/ada@host\/db": give a postgres:\/\//,
    );
  });
});

describe("event log locations", () => {
  it("--db wins over $DATABUILD_DB; a URL is kept as it is, a path resolved", () => {
    const graph = () => "/p/databuild.yaml";
    const env = { DATABUILD_DB: "postgres://u@h/env" };
    expect(eventLogLocation(undefined, env, "/cwd", graph)).toBe("postgres://u@h/env");
    expect(eventLogLocation("postgresql://u@h/flag", env, "/cwd", graph)).toBe("postgresql://u@h/flag");
    expect(eventLogLocation("log.db", env, "/cwd", graph)).toBe("/cwd/log.db");
    expect(eventLogLocation(undefined, {}, "/cwd", graph)).toBe("/p/.databuild/databuild.db");
  });

  it("shows a URL without its password, a path as it is", () => {
    expect(shownLocation("postgres://ada:hunter2@db:5432/x?sslmode=require")).toBe(
      "postgres://ada@db:5432/x?sslmode=require",
    );
    expect(shownLocation("postgres://ada@db/x")).toBe("postgres://ada@db/x");
    expect(shownLocation("/var/db/databuild.db")).toBe("/var/db/databuild.db");
    expect(shownLocation("postgres://ada:hunter2@[bad/x")).not.toContain("hunter2");
  });
});
