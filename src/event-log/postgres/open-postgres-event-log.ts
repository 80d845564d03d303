/**
 * @module Opening the PostgreSQL event log: check the URL, connect, look at
 * what the database holds, and create or migrate the log's tables (or, for
 * commands that only read, open it read-only). The `pg` client is loaded
 * here, when a PostgreSQL log is opened, so commands on an SQLite log never
 * load it.
 */
import type { Client, ClientConfig, Pool, PoolClient, PoolConfig } from "pg";
import { EventLogFileError } from "../event-log-error.ts";
import { AppendListener } from "./append-listener.ts";
import { checkPostgresUrl, serverOf, shownUrl, userAndDatabase } from "./connection-url.ts";
import { PostgresEventLog } from "./postgres-event-log.ts";
import { asLogError } from "./postgres-errors.ts";
import { applyMigrations, readFacts, SCHEMA_VERSION, type DatabaseFacts } from "./schema.ts";

export interface PostgresEventLogOptions {
  /**
   * Open for reading only (commands that only read): nothing is created or
   * written, every transaction is read-only. A database without the log's
   * tables reads as an empty log (until a writer creates them). Appends throw.
   */
  readonly readOnly?: boolean;
  /** A database without the log's tables is an error (EventLogFileError "missing") rather than an empty log. */
  readonly mustExist?: boolean;
  /** How often `watch` polls (notifications wake it sooner). Default 200. */
  readonly pollIntervalMs?: number;
  /** Commit as soon as this many events are queued, without waiting for the turn to end. Default 1,000. */
  readonly maxBatchEvents?: number;
  /** Connections the pool may open (reads run beside the one committing). Default 4. */
  readonly maxConnections?: number;
  /** How long to wait for a connection to the server before failing. Default 10,000. */
  readonly connectTimeoutMs?: number;
  /** Send a notification with each commit, for other processes' watches. Default true. */
  readonly notify?: boolean;
  /** Watches LISTEN for those notifications (besides polling). Default true. */
  readonly listen?: boolean;
  /**
   * The server ends a session of this log that sits idle inside a
   * transaction longer than this (idle_in_transaction_session_timeout):
   * appendAtomically holds the log's lock across statements, and a process
   * paused there (SIGSTOP, a debugger) must not hold up every writer
   * for more than a few seconds. Its append then fails as "unavailable"
   * (and is retried, if its caller retries). Default 5,000: the longest a
   * legitimate transaction idles is one synchronous decision.
   */
  readonly idleInTransactionTimeoutMs?: number;
}

/** The key of the advisory lock that makes creating or migrating the tables one process at a time: "DBEL". */
const SCHEMA_LOCK = 0x4442454c;

/**
 * Opens the event log in the database at `url` (postgres:// or
 * postgresql://), creating its tables in an empty database. Throws
 * EventLogFileError, leaving the database as it was, when the URL is not
 * usable, the database holds tables of something else, or a log of a newer
 * databuild; EventLogStorageError when the server cannot be reached or
 * refuses the credentials. Safe to call from several processes at once.
 */
export async function openPostgresEventLog(
  url: string,
  options: PostgresEventLogOptions = {},
): Promise<PostgresEventLog> {
  checkPostgresUrl(url);
  const pg = (await import("pg")).default;
  const readOnly = options.readOnly ?? false;
  const config: ClientConfig = {
    connectionString: url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    keepAlive: true,
    application_name: "databuild",
    // offsets, times and versions are bigint; every one databuild stores fits a double exactly.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8 ? Number : pg.types.getTypeParser(oid, format)) as never,
    },
    options: [
      `-c idle_in_transaction_session_timeout=${Math.max(1, Math.round(options.idleInTransactionTimeoutMs ?? 5_000))}`,
      ...(readOnly ? ["-c default_transaction_read_only=on"] : []),
    ].join(" "),
  };
  const poolConfig: PoolConfig = { ...config, max: options.maxConnections ?? 4, allowExitOnIdle: true };
  const pool = new pg.Pool(poolConfig);
  // An idle connection the server dropped: reported by the next operation that needs one, not here.
  pool.on("error", () => {});
  try {
    const hasTables = await prepare(pool, url, readOnly, options.mustExist ?? false);
    const listener =
      options.listen === false
        ? undefined
        : new AppendListener(
            (c) => new pg.Client(c) as Client,
            config,
            () => log.pokeWatches(),
          );
    const log: PostgresEventLog = new PostgresEventLog(
      pool,
      url,
      {
        pollIntervalMs: options.pollIntervalMs ?? 200,
        maxBatchEvents: options.maxBatchEvents ?? 1000,
        notify: options.notify ?? true,
      },
      readOnly,
      hasTables,
      listener,
    );
    return log;
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
}

/** pg_type oid of bigint. */
const INT8 = 20;

/** Checks the database and, to write, creates or migrates the tables. Returns whether the tables exist. */
async function prepare(pool: Pool, url: string, readOnly: boolean, mustExist: boolean): Promise<boolean> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw asLogError(url, error, "open");
  }
  let broken = false;
  // A connection that drops while checked out emits "error" (besides failing its query); unheard, that would crash.
  const dropped = () => (broken = true);
  client.on("error", dropped);
  try {
    const facts = await readFacts(client);
    if (facts.kind === "empty" && mustExist) {
      const { database } = userAndDatabase(url);
      throw new EventLogFileError(
        shownUrl(url),
        "missing",
        `database "${database}" on ${serverOf(url)} has no databuild tables`,
      );
    }
    if (readOnly) {
      refuse(url, facts);
      return facts.kind === "log";
    }
    if (facts.kind === "log" && facts.version === SCHEMA_VERSION) return true;
    refuse(url, facts);
    // Another process may be creating or migrating the tables right now: decide again under the lock.
    await client.query("BEGIN");
    try {
      await client.query(`SELECT pg_advisory_xact_lock($1)`, [SCHEMA_LOCK]);
      const now = await readFacts(client);
      refuse(url, now);
      await applyMigrations(client, now.kind === "log" ? now.version : 0);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => (broken = true));
      throw error;
    }
    return true;
  } catch (error) {
    broken ||= !(error instanceof EventLogFileError);
    throw asLogError(url, error, "open");
  } finally {
    client.off("error", dropped);
    client.release(broken);
  }
}

/** Throws when the database is not ours to use: tables of something else, or a log of a newer databuild. */
function refuse(url: string, facts: DatabaseFacts): void {
  const shown = shownUrl(url);
  if (facts.kind === "foreign") {
    const some = facts.tables.slice(0, 5).join(", ") + (facts.tables.length > 5 ? ", ..." : "");
    throw new EventLogFileError(
      shown,
      "foreign",
      facts.detail ?? `the database holds other tables (${some}) and no databuild_log table`,
      {
        advice:
          "databuild left it untouched; pass another --db URL: an empty database (databuild creates its tables) or one holding a databuild event log.",
      },
    );
  }
  if (facts.kind === "log" && facts.version > SCHEMA_VERSION) {
    throw new EventLogFileError(
      shown,
      "newer-schema",
      `its schema version is ${facts.version}; this databuild reads versions up to ${SCHEMA_VERSION}`,
    );
  }
}
