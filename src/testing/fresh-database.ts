/**
 * @module Test support: a fresh, empty database on the run's PostgreSQL
 * server (postgres-global-setup.ts) for each test or contract case, so cases
 * never see each other's events.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";

/** The superuser URL of the run's PostgreSQL server. Throws, saying why, when there is none. */
export function testPostgresUrl(): string {
  const url = inject("postgresUrl");
  if (!url) throw new Error(`no PostgreSQL server for the tests: ${inject("postgresUnavailable") || "unknown reason"}`);
  return url;
}

export interface FreshDatabase {
  /** Its URL, as the superuser. */
  readonly url: string;
  readonly name: string;
  /** Drops it (ending any session still connected). */
  drop(): Promise<void>;
}

/** Creates an empty database `t_<random>` on `serverUrl` (default: the run's server). */
export async function freshDatabase(serverUrl: string = testPostgresUrl()): Promise<FreshDatabase> {
  const name = `t_${randomBytes(6).toString("hex")}`;
  await admin(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.href, name, drop: () => admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Runs one statement as the superuser on the server's maintenance database. */
export async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
