/**
 * @module PostgreSQL event log locations: `postgres://` and `postgresql://`
 * URLs, as libpq and the `pg` client read them
 * (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMS]). Every message
 * names a log by `shownUrl`, which never contains the password.
 */
import { EventLogFileError } from "../event-log-error.ts";

/** True for a location that names a PostgreSQL database rather than a file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The URL with its password left out: how messages name the log. Unparsable input is cut at its "@". */
export function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === "") return url;
    parsed.password = "";
    return parsed.href;
  } catch {
    const at = url.lastIndexOf("@");
    const scheme = url.indexOf("://");
    return at > scheme && scheme >= 0 ? `${url.slice(0, scheme + 3)}…${url.slice(at)}` : url;
  }
}

/** What messages say about the server: "HOST:PORT", as the client will connect (libpq defaults). */
export function serverOf(url: string): string {
  const parsed = new URL(url);
  const host = parsed.searchParams.get("host") ?? (decodeURIComponent(parsed.hostname) || "localhost");
  const port = parsed.searchParams.get("port") ?? (parsed.port || "5432");
  return `${host}:${port}`;
}

/** The user and database the client will use (libpq defaults: $PGUSER or the OS user, the user's name). */
export function userAndDatabase(url: string): { user: string; database: string } {
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username) || process.env.PGUSER || process.env.USER || "postgres";
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, "")) || process.env.PGDATABASE || user;
  return { user, database };
}

/**
 * Checks that `url` is a PostgreSQL URL the client can use; throws an
 * EventLogFileError (a usage error: the --db value is wrong) saying what is
 * wrong, without the password.
 */
export function checkPostgresUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new EventLogFileError(shownUrl(url), "unreadable", "it is not a valid URL", {
      cause: error,
      advice: "Write it as postgres://USER@HOST:PORT/DATABASE (a password is best kept in $PGPASSWORD or ~/.pgpass).",
    });
  }
  if (!isPostgresUrl(url)) {
    throw new EventLogFileError(shownUrl(url), "unreadable", `${parsed.protocol}// is not a PostgreSQL URL`, {
      advice: "Write it as postgres://USER@HOST:PORT/DATABASE, or give a file path for an SQLite log.",
    });
  }
  if (parsed.port !== "" && !/^\d+$/.test(parsed.port)) {
    throw new EventLogFileError(shownUrl(url), "unreadable", `its port ${JSON.stringify(parsed.port)} is not a number`);
  }
  const path = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  if (path.includes("/")) {
    throw new EventLogFileError(
      shownUrl(url),
      "unreadable",
      `its database name ${JSON.stringify(path)} contains a "/"`,
      {
        advice: "Write it as postgres://USER@HOST:PORT/DATABASE.",
      },
    );
  }
}
