/**
 * @module Where a command's build event log is: --db, then $DATABUILD_DB,
 * then .databuild/databuild.db beside the graph file (SPEC 3.4). A URL
 * (postgres://USER@HOST:PORT/DB) is taken as it is; a path resolves against
 * the current directory.
 */
import { dirname, join, resolve } from "node:path";

export const DEFAULT_DB_PATH = join(".databuild", "databuild.db");

/** The log path for a graph file, honouring an explicit --db or $DATABUILD_DB. */
export function eventLogLocation(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
  graphFile: () => string,
): string {
  const given = explicit ?? (env.DATABUILD_DB || undefined);
  if (given !== undefined) return /^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? given : resolve(cwd, given);
  return join(dirname(graphFile()), DEFAULT_DB_PATH);
}

/**
 * How messages and hints show a location: a URL without its password (a
 * password belongs in $PGPASSWORD or ~/.pgpass; if one is in --db, it is
 * never printed), a path as it is.
 */
export function shownLocation(location: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  try {
    const url = new URL(location);
    if (url.password === "") return location;
    url.password = "";
    return url.href;
  } catch {
    return location.replace(/\/\/[^/@]*@/, "//…@");
  }
}
