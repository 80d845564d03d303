/**
 * @module The build event log in a PostgreSQL database, shared by every
 * databuild process on every host that reaches the server.
 *
 * Format (schema.ts). One row per BuildEvent in `events`, the envelope in
 * columns and the rest of the event as binary protobuf (event-row.ts, as
 * SQLite's layout), ids as 16 bytes for a UUID (id-bytes.ts), the kind as the
 * payload's field number (kind-code.ts). `partition_events` is the
 * per-partition index, written by the same statement as the events it points
 * to. Rows are only ever inserted.
 *
 * Offsets and commit order (append-transaction.ts). Every transaction that
 * appends locks the one row of `databuild_log` and draws its offsets from
 * the head kept there, so offsets are dense and become visible in
 * increasing order: a reader that asks for "offset > cursor" misses nothing,
 * whichever process or host wrote. The lock is the price: appends from all
 * processes commit one transaction at a time. Each process gathers its
 * appends into one transaction per batch (group commit), so the lock is
 * taken once per batch, not per event, and a plain append holds it only
 * while the server inserts and commits (one statement, no round trip in
 * between); docs/postgres.md has the measurements.
 *
 * appendAtomically takes the same lock first, then reads what `decide`
 * needs: no other writer can commit between that read and its own commit.
 *
 * Watching. Polling (default every 200 ms) plus LISTEN/NOTIFY as a wake-up
 * hint (append-listener.ts): each commit notifies, and a watch that hears it
 * polls at once. Correctness never depends on the notification. A watch that
 * meets an unavailable server keeps its cursor and polls again later,
 * rather than ending: the port has no error channel, and appends fail loudly
 * on their own.
 *
 * Errors (postgres-errors.ts) are EventLogStorageError or EventLogFileError
 * naming the URL without its password. A commit cut off by a lost connection
 * rejects its appenders; whether it committed is then unknown to them
 * (the message says so), and the command stops.
 *
 * Read-only. Opened with `readOnly`, every connection runs read-only
 * transactions (default_transaction_read_only), so the server itself refuses
 * any write; appends throw before reaching it.
 */
import { performance } from "node:perf_hooks";
import type { Pool, PoolClient } from "pg";
import type { AtomicDecision, AtomicOutcome, EventFilter, EventLog, LoggedEvent } from "../../core/event-log.ts";
import type { BuildEvent } from "../../gen/databuild_pb.ts";
import { EventLogStorageError, type EventLogOperation } from "../event-log-error.ts";
import { toEventRow, type EventRow } from "../event-row.ts";
import { GroupCommit } from "../group-commit.ts";
import { PollWatch } from "../poll-watch.ts";
import { requireEventIds } from "../require-event-ids.ts";
import type { AppendListener } from "./append-listener.ts";
import { appendUnlocked, lockLog, storeRows, type StoredBatch } from "./append-transaction.ts";
import { shownUrl } from "./connection-url.ts";
import { toLoggedEvent, type EventColumns } from "./event-rows.ts";
import { asLogError } from "./postgres-errors.ts";
import { PostgresSnapshotStore } from "./postgres-snapshot-store.ts";
import { readQuery, SELECT_EVENTS } from "./read-query.ts";

/** Tuning of an open PostgresEventLog. */
export interface PostgresEventLogTuning {
  /** How often `watch` polls. */
  readonly pollIntervalMs: number;
  /** A batch this large is committed at once instead of at the end of the event loop turn. */
  readonly maxBatchEvents: number;
  /** Send a notification with each commit (the watches' wake-up hint). */
  readonly notify: boolean;
}

/** Time spent on the log's lock by this process's transactions (for benchmarks). */
export interface LockStats {
  /** Transactions that took the lock (append batches and appendAtomically calls). */
  readonly transactions: number;
  /** Total time waiting for the lock (including the round trip that asks for it). */
  readonly waitMs: number;
  /** Total time holding it: from getting it to the end of COMMIT. */
  readonly heldMs: number;
}

/** Most events handed to a watch listener in one call. */
const WATCH_BATCH = 1000;

/** An EventLog on a `pg` connection pool. Create it with `openPostgresEventLog`. */
export class PostgresEventLog implements EventLog {
  /** The log's URL without its password: how messages name it. */
  readonly location: string;
  readonly snapshots: PostgresSnapshotStore;
  private readonly committer: GroupCommit<EventRow, number>;
  private readonly watches = new Set<PollWatch>();
  private closing: Promise<void> | undefined;
  private readonly stats = { transactions: 0, waitMs: 0, heldMs: 0 };

  constructor(
    private readonly pool: Pool,
    url: string,
    private readonly tuning: PostgresEventLogTuning,
    /** Opened with `readOnly`: nothing is ever written. */
    readonly readOnly: boolean,
    /** False while a read-only log's database has no tables yet (nothing was written): it reads as empty. */
    private hasTables: boolean,
    /** Hears other processes' commits; undefined when listening is off. */
    private readonly listener: AppendListener | undefined,
  ) {
    this.location = shownUrl(url);
    this.committer = new GroupCommit((rows) => this.commit(rows), tuning.maxBatchEvents);
    this.snapshots = new PostgresSnapshotStore(
      async (text, values, operation) => (await this.query(text, values, operation)).rows,
      !readOnly,
      () => this.tablesExist(),
    );
  }

  /** See EventLog.append. A duplicate event id gets its earlier offset. */
  async append(events: readonly BuildEvent[]): Promise<number[]> {
    this.ensureWritable();
    requireEventIds(events);
    // Encoding here, not in the batch, keeps a bad event from failing other callers' appends.
    return this.committer.submit(events.map(toEventRow));
  }

  /** See EventLog.appendAtomically: the lock, the read, `decide` and the inserts are one transaction. */
  async appendAtomically<T>(
    after: number,
    filter: EventFilter | undefined,
    decide: (events: readonly LoggedEvent[]) => AtomicDecision<T>,
  ): Promise<AtomicOutcome<T>> {
    this.ensureWritable();
    await this.committer.flush();
    this.ensureOpen();
    const outcome = await this.locked(async (client, head) => {
      const seen = await this.readWith(client, after, filter, undefined);
      // Thrown by `decide` (or for its events): rolled back, and passed on as it is.
      let decided: AtomicDecision<T>;
      let rows: EventRow[];
      try {
        decided = decide(seen);
        requireEventIds(decided.append);
        rows = decided.append.map(toEventRow);
      } catch (error) {
        throw new DecisionError(error);
      }
      const stored = await storeRows(client, rows, head, this.tuning.notify);
      return { result: decided.result, offsets: stored.offsets, head: stored.head };
    });
    if (outcome.offsets.length > 0) this.pokeWatches();
    return outcome;
  }

  async read(after: number, filter?: EventFilter, limit?: number): Promise<LoggedEvent[]> {
    this.ensureOpen();
    return this.readNow(after, filter, limit);
  }

  async readAt(offsets: readonly number[]): Promise<LoggedEvent[]> {
    this.ensureOpen();
    const wanted = [...new Set(offsets)].filter((o) => Number.isSafeInteger(o) && o > 0).sort((a, b) => a - b);
    if (wanted.length === 0 || !(await this.tablesExist())) return [];
    const result = await this.query(`${SELECT_EVENTS} WHERE "offset" = ANY($1::bigint[]) ORDER BY "offset"`, [wanted]);
    return result.rows.map((row) => toLoggedEvent(row as EventColumns, this.location));
  }

  watch(after: number, listener: (events: LoggedEvent[]) => void, filter?: EventFilter): () => void {
    this.ensureOpen();
    const w = new PollWatch(after, listener, filter, (a, f, l) => this.readForWatch(a, f, l), {
      intervalMs: this.tuning.pollIntervalMs,
      batchLimit: WATCH_BATCH,
    });
    this.watches.add(w);
    this.listener?.start();
    return () => {
      w.stop();
      this.watches.delete(w);
      if (this.watches.size === 0) void this.listener?.stop();
    };
  }

  async head(): Promise<number> {
    this.ensureOpen();
    if (!(await this.tablesExist())) return 0;
    const result = await this.query(`SELECT head FROM databuild_log`, []);
    return (result.rows[0]?.[0] as number | undefined) ?? 0;
  }

  /** Time this process's transactions spent waiting for and holding the log's lock. */
  lockStats(): LockStats {
    return { ...this.stats };
  }

  /** Commits pending appends, stops every watch, stops listening and closes the pool. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        // A failed commit was reported to its appenders; closing still closes.
        await this.committer.flush().catch(() => {});
      } finally {
        for (const w of this.watches) w.stop();
        this.watches.clear();
        await this.listener?.stop();
        await this.pool.end().catch(() => {});
      }
    })();
    return this.closing;
  }

  /** The server process id of this log's listening session, if it listens (tests cut it to lose notifications). */
  async listeningBackendPid(): Promise<number | undefined> {
    return this.listener?.backendPid();
  }

  /** Polls every watch now: a notification arrived, or this process committed. */
  pokeWatches(): void {
    for (const w of this.watches) w.poke();
  }

  /**
   * Commits one batch of the group commit: in one statement that takes the
   * lock and commits (append-transaction.ts), or, if another writer stored
   * some of these events meanwhile, in a transaction that takes the lock first.
   */
  private async commit(rows: readonly EventRow[]): Promise<number[]> {
    const stored = await this.inTurn(async () => {
      let batch: StoredBatch | undefined;
      try {
        batch = await appendUnlocked(this.pool, rows, this.tuning.notify);
      } catch (error) {
        throw asLogError(this.location, error, "append");
      }
      if (batch !== undefined) {
        this.stats.transactions++;
        this.stats.waitMs += batch.lockWaitMs;
        // The statement holds the lock from the end of its wait until its commit (and the answer) arrives.
        this.stats.heldMs += batch.statementMs - batch.lockWaitMs;
      }
      return batch;
    });
    const offsets =
      stored?.offsets ??
      (await this.locked((client, head) => storeRows(client, rows, head, this.tuning.notify))).offsets;
    this.pokeWatches();
    return offsets;
  }

  /** This process's steps that take the lock, in turn (see `locked`). */
  private lockQueue: Promise<void> = Promise.resolve();

  /**
   * Runs `body` in a transaction that holds the log's lock, handing it the
   * head as it was when the lock was taken. The group commit runs one batch
   * at a time and appendAtomically flushes it first, but appendAtomically
   * calls can overlap: they queue here, so this process keeps at most one
   * connection waiting on the lock.
   */
  private locked<R>(body: (client: PoolClient, head: number) => Promise<R>): Promise<R> {
    return this.inTurn(async () => {
      let got: number | undefined;
      try {
        return await this.transaction("append", async (client) => {
          const asked = performance.now();
          const head = await lockLog(client);
          got = performance.now();
          this.stats.transactions++;
          this.stats.waitMs += got - asked;
          return body(client, head);
        });
      } finally {
        if (got !== undefined) this.stats.heldMs += performance.now() - got;
      }
    });
  }

  /** Runs `step` once this process's earlier steps that take the lock have ended. */
  private async inTurn<R>(step: () => Promise<R>): Promise<R> {
    const previous = this.lockQueue;
    let done!: () => void;
    this.lockQueue = new Promise<void>((resolve) => (done = resolve));
    await previous;
    try {
      return await step();
    } finally {
      done();
    }
  }

  /** Runs `body` between BEGIN and COMMIT on a connection of the pool; rolls back if anything fails. */
  private async transaction<R>(operation: EventLogOperation, body: (client: PoolClient) => Promise<R>): Promise<R> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw asLogError(this.location, error, operation);
    }
    let broken = false;
    // A connection that drops while checked out emits "error" (besides failing its query); unheard, that would crash.
    const dropped = () => (broken = true);
    client.on("error", dropped);
    try {
      await client.query("BEGIN");
      const result = await body(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      const decision = error instanceof DecisionError;
      // A connection that failed mid-transaction is not given back to the pool.
      broken = !decision;
      await client.query("ROLLBACK").catch(() => (broken = true));
      if (decision) throw error.cause;
      throw asLogError(this.location, error, operation);
    } finally {
      client.off("error", dropped);
      client.release(broken);
    }
  }

  private async readNow(
    after: number,
    filter: EventFilter | undefined,
    limit: number | undefined,
  ): Promise<LoggedEvent[]> {
    if (filter?.kinds?.length === 0 || filter?.partitions?.length === 0 || (limit !== undefined && limit < 1))
      return [];
    if (!(await this.tablesExist())) return [];
    const { text, values } = readQuery(after, filter, limit);
    const result = await this.query(text, values);
    return result.rows.map((row) => toLoggedEvent(row as EventColumns, this.location));
  }

  private async readWith(
    client: PoolClient,
    after: number,
    filter: EventFilter | undefined,
    limit: number | undefined,
  ): Promise<LoggedEvent[]> {
    if (filter?.kinds?.length === 0 || filter?.partitions?.length === 0) return [];
    const { text, values } = readQuery(after, filter, limit);
    const result = await client.query({ text, values, rowMode: "array" });
    return result.rows.map((row) => toLoggedEvent(row as EventColumns, this.location));
  }

  /** A watch's read: an unavailable server (or a log closing under it) is "nothing yet", polled again later. */
  private async readForWatch(after: number, filter: EventFilter | undefined, limit: number): Promise<LoggedEvent[]> {
    try {
      return await this.readNow(after, filter, limit);
    } catch (error) {
      if (this.closing) return [];
      if (error instanceof EventLogStorageError && error.problem === "unavailable") return [];
      throw error;
    }
  }

  /** One statement on a pooled connection, rows as arrays; errors become the log's. */
  private async query(text: string, values: unknown[], operation: EventLogOperation = "read") {
    try {
      return await this.pool.query({ text, values, rowMode: "array" });
    } catch (error) {
      throw asLogError(this.location, error, operation);
    }
  }

  /** True once the database has the log's tables (always, unless opened read-only on an empty database). */
  private async tablesExist(): Promise<boolean> {
    if (this.hasTables) return true;
    const result = await this.query(`SELECT to_regclass('databuild_log') IS NOT NULL`, []);
    this.hasTables = result.rows[0]?.[0] === true;
    return this.hasTables;
  }

  private ensureOpen(): void {
    if (this.closing) throw new Error(`the event log ${this.location} is closed`);
  }

  private ensureWritable(): void {
    this.ensureOpen();
    if (this.readOnly) throw new Error(`the event log ${this.location} was opened read-only`);
  }
}

/** What `decide` (or its events) threw inside appendAtomically's transaction: rolled back and rethrown as it was. */
class DecisionError extends Error {
  constructor(override readonly cause: unknown) {
    super("decide threw");
  }
}
