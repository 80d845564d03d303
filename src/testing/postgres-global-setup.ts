/**
 * @module vitest globalSetup (vitest.config.ts): one throwaway PostgreSQL
 * server for the whole run, stopped and removed at its end. Tests get fresh
 * databases on it through fresh-database.ts. Starting costs about a second,
 * paid once per run rather than per test file. A machine without the
 * PostgreSQL programs still runs every other test: the reason is handed on,
 * and only the tests that ask for a database fail, with it.
 *
 * $DATABUILD_TEST_POSTGRES_URL (a superuser URL of a server of your own)
 * skips starting one.
 */
import type { TestProject } from "vitest/node";
import { startPostgresServer, type PostgresServer } from "./postgres-server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The superuser URL of the run's server ("" when none could be started). */
    postgresUrl: string;
    /** Why there is no server, when `postgresUrl` is "". */
    postgresUnavailable: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.DATABUILD_TEST_POSTGRES_URL;
  if (given) {
    project.provide("postgresUrl", given);
    project.provide("postgresUnavailable", "");
    return async () => {};
  }
  let server: PostgresServer | undefined;
  try {
    server = await startPostgresServer();
    project.provide("postgresUrl", server.url());
    project.provide("postgresUnavailable", "");
  } catch (error) {
    project.provide("postgresUrl", "");
    project.provide("postgresUnavailable", (error as Error).message);
  }
  return async () => {
    await server?.remove();
  };
}
