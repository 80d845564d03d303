/**
 * @module Turns the `pg` client's and the server's errors into
 * EventLogStorageError (the server or its storage is in the way) and
 * EventLogFileError (the database is not usable as a log), each naming the
 * log by its URL without the password and the server by HOST:PORT. Errors
 * that say nothing about the log (a bug in a query) pass through unchanged.
 */
import {
  EventLogFileError,
  EventLogStorageError,
  type EventLogOperation,
  type EventLogStorageProblem,
} from "../event-log-error.ts";
import { serverOf, shownUrl, userAndDatabase } from "./connection-url.ts";

interface PgError {
  readonly code?: unknown;
  readonly message?: unknown;
}

/** Node's network error codes that mean the server cannot be reached (or the connection was cut). */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ENOENT", // a Unix socket path with no server behind it
]);

/** What the client says (without a code) when the connection ends under it. */
const DROPPED =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Client was closed|Connection ended/i;

/** SQLSTATE classes and codes (https://www.postgresql.org/docs/15/errcodes-appendix.html) that mean the server is unavailable. */
function unavailableState(code: string): boolean {
  return (
    code.startsWith("08") || // connection exception
    code === "57P01" || // admin_shutdown
    code === "57P02" || // crash_shutdown
    code === "57P03" || // cannot_connect_now (starting up, shutting down, in recovery)
    code === "57P05" || // idle_session_timeout
    code === "25P03" || // idle_in_transaction_session_timeout
    code === "53300" // too_many_connections
  );
}

/**
 * `error` as an EventLogStorageError or EventLogFileError about the log at
 * `url` when it is about the server, the connection or the database, else
 * `error` unchanged. `operation` says what was under way, for the message.
 */
export function asLogError(url: string, error: unknown, operation: EventLogOperation): unknown {
  if (error instanceof EventLogFileError || error instanceof EventLogStorageError) return error;
  const e = (error ?? {}) as PgError;
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : String(error);
  const shown = shownUrl(url);
  const server = serverOf(url);
  const { user, database } = userAndDatabase(url);
  const storage = (problem: EventLogStorageProblem, detail: string, advice?: string) =>
    new EventLogStorageError(
      shown,
      problem,
      operation,
      detail,
      advice === undefined ? { cause: error } : { cause: error, advice },
    );

  if (code === "ECONNREFUSED")
    return storage(
      "unavailable",
      `nothing accepts connections at ${server} (ECONNREFUSED): no PostgreSQL server runs there`,
    );
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return storage("unavailable", `the host of ${server} is unknown (${code})`);
  if (UNREACHABLE.has(code)) return storage("unavailable", `the connection to ${server} failed: ${message} (${code})`);
  if (code === "28P01")
    return storage(
      "permission-denied",
      `the server at ${server} refused the password of user "${user}" (28P01)`,
      "Check the user and password: in the URL, $PGPASSWORD or ~/.pgpass (which keep the password out of command lines and messages).",
    );
  if (code === "28000")
    return storage(
      "permission-denied",
      `the server at ${server} does not let user "${user}" connect to database "${database}": ${message} (28000)`,
      "Check the user in the URL, and the server's pg_hba.conf.",
    );
  if (code === "3D000")
    return new EventLogFileError(shown, "unreadable", `the server at ${server} has no database "${database}" (3D000)`, {
      cause: error,
      advice: `Create it (createdb -h ${server.slice(0, server.lastIndexOf(":"))} -p ${server.slice(server.lastIndexOf(":") + 1)} ${database}), or pass another --db URL.`,
    });
  if (unavailableState(code))
    return storage(
      "unavailable",
      `the server at ${server} ended the connection or refused a new one: ${message} (${code})`,
    );
  if (code === "" && DROPPED.test(message))
    return storage("unavailable", `the connection to the server at ${server} was lost: ${message}`);
  if (code === "53100") return storage("disk-full", `the server at ${server} reports: ${message} (53100)`);
  if (code === "58030" || code.startsWith("XX"))
    return storage("io-error", `the server at ${server} reports: ${message} (${code})`);
  if (code === "25006")
    return storage("read-only", `the server at ${server} refused a write: ${message} (25006)`, READ_ONLY_ADVICE);
  if (code === "42501")
    return storage(
      operation === "read" ? "permission-denied" : "read-only",
      `user "${user}" lacks a privilege on database "${database}": ${message} (42501)`,
      `Grant it (the log's tables are created in the user's current schema: GRANT CREATE ON SCHEMA public TO "${user}", or make "${user}" the database's owner), or pass another --db URL.`,
    );
  return error;
}

const READ_ONLY_ADVICE =
  "Commands that only read it still work; to build or invalidate, connect to a server (a primary, not a standby) and as a user who may write it.";
