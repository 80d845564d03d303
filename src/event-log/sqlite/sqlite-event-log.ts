/**
 * @module The build event log in one SQLite file, shared by every databuild
 * process on the machine.
 *
 * Format. One table, `events`, one row per BuildEvent:
 *
 *   "offset"          INTEGER PRIMARY KEY AUTOINCREMENT  the event's position (the rowid)
 *   event_id          TEXT UNIQUE                        the emitter's id (a UUID)
 *   build_request_id  TEXT      indexed                  copies of envelope fields,
 *   job_run_id        TEXT      indexed                  kept only so reads can
 *   kind              TEXT      indexed                  filter without decoding
 *   timestamp_ms      INTEGER   indexed                  (kind is `event.case`)
 *   payload           BLOB                               the whole event, binary protobuf
 *
 * The payload is the truth; the other columns are derived from it on append
 * and never change. Every index also holds the rowid, so "build_request_id =
 * ? AND offset > ?" is one range scan. Rows are only ever inserted: current
 * state is a fold over events (src/core), never an UPDATE here. The file is
 * marked as ours by `PRAGMA application_id` ("DBEL") and versioned by `PRAGMA
 * user_version` (schema.ts): a newer version is refused, an older one
 * migrated on open. Opening validates before writing anything
 * (inspect-file.ts), so a foreign or damaged file at the path is reported and
 * left byte-for-byte as it was.
 *
 * Offsets. AUTOINCREMENT never reuses a number, and SQLite admits one writer
 * at a time, so offsets become visible in increasing order with no holes
 * behind the newest one: a reader that remembers the last offset it saw and
 * asks for "offset > cursor" misses nothing. That is how `watch` follows
 * appends from other processes (polling, default every 100 ms, plus an
 * immediate poll after each local commit).
 *
 * Duplicates. Re-appending an event whose event_id is stored (a relayed
 * event) stores nothing and returns the stored offset; only the id is
 * compared. An event without an id is rejected.
 *
 * Durability. WAL mode: readers never block the writer, and a commit is one
 * sequential write to the -wal file. synchronous=FULL (the default) fsyncs
 * the WAL on every commit, so an acknowledged append survives kill -9 and
 * power loss; NORMAL fsyncs only at checkpoints, which survives kill -9 of any
 * process (the OS has the pages) but may lose the last commits on power loss.
 * busy_timeout lets several processes share the file: a writer waits for the
 * lock instead of failing.
 *
 * Group commit. An fsync costs milliseconds, inserting an event tens of
 * microseconds, so appends are queued and everything queued in one event
 * loop turn is committed in one transaction (group-commit.ts); each caller's
 * promise resolves after that COMMIT. better-sqlite3 is synchronous, so a
 * commit holds the event loop: batches are capped (maxBatchEvents) and the
 * queue yields to the event loop between them. Most of an append's CPU time
 * is protobuf encoding and the event_id index, whose random UUID keys touch
 * a different page per event (time-ordered ids would make it append-only).
 *
 * Storage faults. A full disk, a read-only file or folder and I/O errors
 * surface as EventLogStorageError naming the path (sqlite-errors.ts); SQLite
 * rolls the failed transaction back, so what was committed stays readable.
 * A writer also checks, before and after each commit (one stat each), that
 * the path still names the file it opened: a log deleted or replaced
 * underneath is an error, not a silent write into a file nobody will read.
 *
 * Read-only. Opened with `readOnly` (read-connection.ts), appends throw, and
 * a log read as an immutable (frozen) read is reopened when a writer appears.
 */
import { rmSync } from "node:fs";
import type { Database, Statement } from "better-sqlite3";
import type { AtomicDecision, AtomicOutcome, EventFilter, EventLog, LoggedEvent } from "../../core/event-log.ts";
import type { BuildEvent } from "../../gen/databuild_pb.ts";
import { EventLogFileError, type EventLogOperation } from "../event-log-error.ts";
import { SqliteSnapshotStore } from "./sqlite-snapshot-store.ts";
import { GroupCommit } from "../group-commit.ts";
import { PollWatch } from "../poll-watch.ts";
import { requireEventIds } from "../require-event-ids.ts";
import { matchesFilter } from "../event-filter.ts";
import { fromPayload, toEventRow, type EventRow } from "./event-row.ts";
import { checkStillThere, identityOf, sizeOf, type FileIdentity } from "./file-checks.ts";
import { frozenReadIsStale, type ReadConnection, type FrozenStamp } from "./read-connection.ts";
import { readQuery } from "./read-query.ts";
import { asFileError } from "./sqlite-errors.ts";

/** Tuning of an open SqliteEventLog (durability and locking are fixed by openSqliteEventLog). */
export interface SqliteEventLogTuning {
  /** How often `watch` polls for appends by other connections. */
  readonly pollIntervalMs: number;
  /** A batch this large is committed at once instead of at the end of the event loop turn. */
  readonly maxBatchEvents: number;
}

/** How the connection was opened: for writing (the file's identity then), or read-only. */
export type SqliteAccess =
  | { readonly identity: FileIdentity }
  | {
      readonly readOnly: {
        /** Set when the connection reads an immutable (frozen) read of the file. */
        readonly frozen: FrozenStamp | undefined;
        /** Opens the file anew, for a frozen read gone stale. */
        readonly reopen: (() => ReadConnection) | undefined;
      };
    };

/** Most events handed to a watch listener in one call. */
const WATCH_BATCH = 1000;

/** An EventLog on an open better-sqlite3 connection. Create it with `openSqliteEventLog`. */
export class SqliteEventLog implements EventLog {
  private readonly committer: GroupCommit<EventRow, number>;
  private readonly watches = new Set<PollWatch>();
  private readonly statements = new Map<string, Statement>();
  private readonly insertBatch: (rows: readonly EventRow[]) => number[];
  private readonly insertRows: (rows: readonly EventRow[]) => number[];
  private readonly identity: FileIdentity | undefined;
  private readonly walIdentity: FileIdentity | undefined;
  private frozen: FrozenStamp | undefined;
  private readonly reopen: (() => ReadConnection) | undefined;
  private closing: Promise<void> | undefined;
  readonly snapshots: SqliteSnapshotStore;

  constructor(
    private db: Database,
    /** The database file. */
    readonly path: string,
    private readonly tuning: SqliteEventLogTuning,
    access: SqliteAccess,
  ) {
    if ("readOnly" in access) {
      this.frozen = access.readOnly.frozen;
      this.reopen = access.readOnly.reopen;
      this.insertRows = this.insertBatch = () => {
        throw new Error(`the event log ${path} was opened read-only`);
      };
    } else {
      this.identity = access.identity;
      this.walIdentity = identityOf(`${path}-wal`);
      const insert = db.prepare(
        `INSERT INTO events (event_id, build_request_id, job_run_id, kind, timestamp_ms, payload)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
      );
      const storedOffset = db.prepare(`SELECT "offset" FROM events WHERE event_id = ?`).pluck();
      this.insertRows = (rows) =>
        rows.map((row) => {
          const { changes, lastInsertRowid } = insert.run(row);
          return changes === 1 ? Number(lastInsertRowid) : (storedOffset.get(row[0]) as number);
        });
      const transaction = db.transaction(this.insertRows);
      // IMMEDIATE takes the write lock up front, so a busy lock is waited for
      // (busy_timeout) rather than failing when a read would upgrade to a write.
      this.insertBatch = (rows) => transaction.immediate(rows);
    }
    this.committer = new GroupCommit((rows) => this.commit(rows), tuning.maxBatchEvents);
    this.snapshots = new SqliteSnapshotStore(
      () => this.db,
      !("readOnly" in access),
      (write) => this.writing(write),
    );
  }

  /** True when opened with `readOnly`. */
  get readOnly(): boolean {
    return this.identity === undefined;
  }

  /** See EventLog.append. Offsets are those of the stored rows; a duplicate event id gets its earlier offset. */
  async append(events: readonly BuildEvent[]): Promise<number[]> {
    this.ensureOpen();
    requireEventIds(events);
    // Encoding here, not in the batch, keeps a bad event from failing other callers' appends.
    return this.committer.submit(events.map(toEventRow));
  }

  /** See EventLog.appendAtomically: the read, `decide` and the inserts run in one IMMEDIATE transaction. */
  async appendAtomically<T>(
    after: number,
    filter: EventFilter | undefined,
    decide: (events: readonly LoggedEvent[]) => AtomicDecision<T>,
  ): Promise<AtomicOutcome<T>> {
    this.ensureOpen();
    await this.committer.flush();
    this.ensureOpen();
    const step = this.db.transaction(() => {
      const { append, result } = decide(this.readNow(after, filter, undefined));
      requireEventIds(append);
      const offsets = this.insertRows(append.map(toEventRow));
      const head = this.sql(`SELECT coalesce(max("offset"), 0) FROM events`).pluck().get() as number;
      return { result, offsets, head };
    });
    const outcome = this.writing(() => step.immediate());
    if (outcome.offsets.length > 0) for (const w of this.watches) w.poke();
    return outcome;
  }

  async read(after: number, filter?: EventFilter, limit?: number): Promise<LoggedEvent[]> {
    this.ensureOpen();
    return this.readNow(after, filter, limit);
  }

  async readAt(offsets: readonly number[]): Promise<LoggedEvent[]> {
    this.ensureOpen();
    this.refreshFrozenRead();
    const wanted = [...new Set(offsets)].sort((a, b) => a - b);
    const statement = this.sql(`SELECT "offset", payload FROM events WHERE "offset" = ?`).raw();
    const out: LoggedEvent[] = [];
    try {
      for (const o of wanted) {
        const row = statement.get(o) as [number, Buffer] | undefined;
        if (row) out.push(this.decodeRow(row[0], row[1]));
      }
    } catch (error) {
      throw asFileError(this.path, error, "read");
    }
    return out;
  }

  watch(after: number, listener: (events: LoggedEvent[]) => void, filter?: EventFilter): () => void {
    this.ensureOpen();
    const w = new PollWatch(after, listener, filter, (a, f, l) => this.readNow(a, f, l), {
      intervalMs: this.tuning.pollIntervalMs,
      batchLimit: WATCH_BATCH,
    });
    this.watches.add(w);
    return () => {
      w.stop();
      this.watches.delete(w);
    };
  }

  async head(): Promise<number> {
    this.ensureOpen();
    this.refreshFrozenRead();
    try {
      return this.sql(`SELECT coalesce(max("offset"), 0) FROM events`).pluck().get() as number;
    } catch (error) {
      throw asFileError(this.path, error, "read");
    }
  }

  /** Commits pending appends, stops every watch, and closes the connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        // A failed commit was reported to its appenders; closing still closes.
        await this.committer.flush().catch(() => {});
      } finally {
        for (const w of this.watches) w.stop();
        this.watches.clear();
        this.closeConnection();
      }
    })();
    return this.closing;
  }

  /**
   * Closes the connection. If the file was deleted or moved away meanwhile,
   * the -wal at the old path still holds its last commits, and SQLite would
   * replay them into whatever file is created at that path next (corrupting
   * it): copy them into the file this connection has open (moved: it keeps
   * them; deleted: they go with it), which empties that -wal, and remove it
   * when nothing is at the path any more.
   */
  private closeConnection(): void {
    const identity = this.identity;
    const now = identity && identityOf(this.path);
    const moved = identity !== undefined && (now?.dev !== identity.dev || now.ino !== identity.ino);
    if (moved) {
      try {
        this.db.pragma("wal_checkpoint(TRUNCATE)");
      } catch {
        // Nothing more can be saved; the -wal stays as it is.
      }
    }
    this.db.close();
    if (!moved || now !== undefined || this.walIdentity === undefined) return;
    const wal = identityOf(`${this.path}-wal`);
    if (wal?.dev !== this.walIdentity.dev || wal.ino !== this.walIdentity.ino || sizeOf(`${this.path}-wal`) > 0) return;
    for (const f of [`${this.path}-wal`, `${this.path}-shm`]) rmSync(f, { force: true });
  }

  private commit(rows: readonly EventRow[]): number[] {
    const offsets = this.writing(() => this.insertBatch(rows));
    for (const w of this.watches) w.poke();
    return offsets;
  }

  /**
   * Runs a write transaction, with the check that the path still names the
   * file this log opened before it (so nothing is written into a deleted
   * file) and after it (a commit that landed in a file deleted meanwhile
   * is as lost as a failed one).
   */
  private writing<R>(write: () => R): R {
    const operation: EventLogOperation = "append";
    if (this.identity) checkStillThere(this.path, this.identity, operation);
    let result: R;
    try {
      result = write();
    } catch (error) {
      throw asFileError(this.path, error, operation);
    }
    if (this.identity) checkStillThere(this.path, this.identity, operation);
    return result;
  }

  private readNow(after: number, filter: EventFilter | undefined, limit: number | undefined): LoggedEvent[] {
    if (filter?.kinds?.length === 0 || (limit !== undefined && limit < 1)) return [];
    this.refreshFrozenRead();
    const { sql, params } = readQuery(after, filter, limit);
    let rows: [number, Buffer][];
    try {
      rows = this.sql(sql)
        .raw()
        .all(...params) as [number, Buffer][];
    } catch (error) {
      throw asFileError(this.path, error, "read");
    }
    const events = rows.map(([offset, payload]) => this.decodeRow(offset, payload));
    // Until the per-partition index: filtered after decoding.
    return filter?.partitions ? events.filter((e) => matchesFilter(e.event, filter)) : events;
  }

  private decodeRow(offset: number, payload: Buffer): LoggedEvent {
    try {
      return { offset, event: fromPayload(payload) };
    } catch (error) {
      throw new EventLogFileError(this.path, "corrupt", `the event at offset ${offset} does not decode`, {
        cause: error,
      });
    }
  }

  /** A frozen read that may be out of date (a writer appeared, the file changed) is replaced by a fresh connection. */
  private refreshFrozenRead(): void {
    if (this.frozen === undefined || this.reopen === undefined || this.db.inTransaction) return;
    if (!frozenReadIsStale(this.path, this.frozen)) return;
    const fresh = this.reopen();
    this.statements.clear();
    this.db.close();
    this.db = fresh.db;
    this.frozen = fresh.frozen;
  }

  private sql(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private ensureOpen(): void {
    if (this.closing) throw new Error(`the event log ${this.path} is closed`);
  }
}
