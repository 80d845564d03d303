/**
 * @module The build event log in one SQLite file, shared by every databuild
 * process on the machine.
 *
 * Format (schema version 4: layout-v3.ts, then layout-v4.ts). One row per
 * BuildEvent in `events`, with the values that recur interned in small tables:
 *
 *   "offset"            INTEGER PRIMARY KEY AUTOINCREMENT  the event's position (the rowid)
 *   event_id            ANY      indexed by its first 8 bytes  16 bytes for a canonical UUID, else the text
 *   build_request       INTEGER  -> ids.id (NULL: none)
 *   job_run             INTEGER  -> ids.id (NULL: none)
 *   kind                INTEGER            the payload's field number in BuildEvent's oneof (kind-code.ts);
 *                                          negated for a lean manifest (sqlite-row.ts)
 *   timestamp_delta_ms  INTEGER            the timestamp minus the event id's UUIDv7 time: 0, which
 *                                          takes no bytes, for events made by newEvent; NULL when
 *                                          whole ms cannot hold it (the payload keeps it then)
 *   payload             BLOB               binary protobuf of the event without the fields above
 *
 *   ids (id, value, first_offset, last_offset)  build request and job run ids, each once (stored-id.ts),
 *                                   with the span of offsets of the events that name them
 *   partitions (id, ref)            the partition refs events are about, each once
 *   partition_events (partition, "offset")   WITHOUT ROWID: the per-partition index
 *
 * On a long history this is under a third of version 2's file (which copied
 * three text UUIDs into columns, again inside every payload, and kept four
 * secondary indexes). Reading fills the envelope fields back in from the
 * columns (event-row.ts, sqlite-row.ts), each only where the decoded payload
 * left it empty, so a whole payload (a row a migration could not decode, or a
 * version 2 file read before it is migrated) reads the same way. Rows are
 * only ever inserted: current state is a fold over events (src/core), never
 * an UPDATE here (the ids' spans are an index, kept by the same transaction).
 *
 * Indexes. A read by build request or job run scans the rowids of its id's
 * span (read-query.ts): a build's or a job run's events lie close together,
 * so that costs what an index entry per event would save, without the entry
 * (about 190 bytes and two B-tree inserts per job run in version 3). The
 * per-partition index ends in the offset, so each ref's range of
 * partition_events is one range scan in offset order; `partitions` reads
 * those ranges, then each event once by its rowid, in order. The index
 * entries and span of an event are written by the same transaction as the
 * event (event-inserter.ts), for every ref of `partitionRefsOf`, so they
 * never lag. There is no index on kind: reads by kind alone are tails after
 * a cursor (a snapshot's offset), where checking the kind of each row is
 * cheaper than an index entry per event (about 90 bytes per job run); a
 * full-log read of a rare kind scans in tens of ms.
 *
 * Versions and migration. The file is marked as ours by `PRAGMA
 * application_id` ("DBEL") and versioned by `PRAGMA user_version` (schema.ts):
 * a newer version is refused, an older one migrated when opened to write, in
 * one transaction (migrate-v3.ts: every row converted at its offset, the
 * index filled for old events too; 276,000 events in 10 to 20 s; then
 * migrate-v4.ts: the spans filled from the old indexes, which are dropped,
 * no event rewritten), then compacted once (VACUUM) when that freed a
 * quarter of the file. Opened read-only, an older log is read as it is
 * (read-query-v2.ts) until a writer migrates it, which the reader notices.
 * Opening validates before writing anything (inspect-file.ts), so a foreign
 * or damaged file at the path is reported and left byte-for-byte as it was.
 *
 * Offsets and commit order. AUTOINCREMENT never reuses a number, and SQLite
 * admits one writer at a time: an offset is drawn inside the write
 * transaction that commits it, so offsets become visible in increasing order
 * with no holes behind the newest one, whichever connection or process
 * wrote them. A reader that remembers the last offset it saw and asks for
 * "offset > cursor" misses nothing (the contract suite checks it with writers
 * in other processes). That is how `watch` follows appends from other
 * processes (polling, default every 100 ms, plus an immediate poll after each
 * local commit).
 *
 * Duplicates. Re-appending an event whose event_id is stored (a relayed
 * event) stores nothing and returns the stored offset; only the id is
 * compared (the whole id: the index only narrows the search to its key).
 * An event without an id is rejected.
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
 * is protobuf encoding; the indexes on ids grow at one end, as ids are
 * time-ordered (UUIDv7), and interned ids are remembered per connection.
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
import { EventInserter } from "./event-inserter.ts";
import type { StoredId } from "../stored-id.ts";
import { JobRunNames } from "./job-run-names.ts";
import { fromSqliteRow, toSqliteRow, type SqliteEventRow, type SqliteStoredEvent } from "./sqlite-row.ts";
import { checkStillThere, identityOf, sizeOf, type FileIdentity } from "./file-checks.ts";
import { frozenReadIsStale, type ReadConnection, type FrozenStamp } from "./read-connection.ts";
import { readQuery, SELECT_EVENTS, type ReadQuery } from "./read-query.ts";
import { readQueryV2, SELECT_EVENTS_V2 } from "./read-query-v2.ts";
import { SCHEMA_VERSION } from "./schema.ts";
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
  private readonly committer: GroupCommit<SqliteEventRow, number>;
  private readonly watches = new Set<PollWatch>();
  private readonly statements = new Map<string, Statement>();
  private readonly insertBatch: (rows: readonly SqliteEventRow[]) => number[];
  private readonly insertRows: (rows: readonly SqliteEventRow[]) => number[];
  private readonly inserter: EventInserter | undefined;
  /** The schema version of the file as this connection last saw it (below 3 only for a read-only connection). */
  private layout: number;
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
    this.layout = userVersion(db);
    if ("readOnly" in access) {
      this.frozen = access.readOnly.frozen;
      this.reopen = access.readOnly.reopen;
      this.insertRows = this.insertBatch = () => {
        throw new Error(`the event log ${path} was opened read-only`);
      };
    } else {
      this.identity = access.identity;
      this.walIdentity = identityOf(`${path}-wal`);
      const inserter = (this.inserter = new EventInserter(db));
      this.insertRows = (rows) => {
        const offsets = rows.map((row) => inserter.append(row));
        inserter.finish();
        return offsets;
      };
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
      "readOnly" in access ? path : undefined,
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
    return this.committer.submit(events.map(toSqliteRow));
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
      const offsets = this.insertRows(append.map(toSqliteRow));
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
    const rows: SqliteStoredEvent[] = [];
    try {
      this.reading(() => {
        const select = this.layout >= 3 ? SELECT_EVENTS : SELECT_EVENTS_V2;
        const statement = this.sql(`${select} WHERE e."offset" = ?`).raw();
        for (const o of wanted) {
          const row = statement.get(o) as SqliteStoredEvent | undefined;
          if (row) rows.push(row);
        }
      });
    } catch (error) {
      throw asFileError(this.path, error, "read");
    }
    return rows.map((row) => this.decodeRow(row));
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

  private commit(rows: readonly SqliteEventRow[]): number[] {
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
      this.inserter?.rolledBack();
      throw asFileError(this.path, error, operation);
    }
    this.inserter?.committed();
    if (this.identity) checkStillThere(this.path, this.identity, operation);
    return result;
  }

  private readNow(after: number, filter: EventFilter | undefined, limit: number | undefined): LoggedEvent[] {
    if (filter?.kinds?.length === 0 || (limit !== undefined && limit < 1)) return [];
    if (filter?.partitions?.length === 0) return [];
    this.refreshFrozenRead();
    let query!: ReadQuery;
    let rows: SqliteStoredEvent[];
    try {
      rows = this.reading(() => {
        query =
          this.layout >= 3 ? readQuery(after, filter, limit, this.layout >= 4) : readQueryV2(after, filter, limit);
        return this.sql(query.sql)
          .raw()
          .all(...query.params) as SqliteStoredEvent[];
      });
    } catch (error) {
      throw asFileError(this.path, error, "read");
    }
    const events = rows.map((row) => this.decodeRow(row));
    if (!query.partitionsAfterDecoding) return events;
    return events.filter((e) => matchesFilter(e.event, filter)).slice(0, limit);
  }

  /**
   * Runs a read. On a log of an older schema (read-only), it runs in one read
   * transaction with a look at the version, so a writer that migrated the
   * file meanwhile is noticed before the old layout's SQL meets the new one.
   */
  private reading<R>(read: () => R): R {
    if (this.layout >= SCHEMA_VERSION || this.db.inTransaction) return read();
    return this.db.transaction(() => {
      this.layout = userVersion(this.db);
      return read();
    })();
  }

  private decodeRow(row: SqliteStoredEvent): LoggedEvent {
    const offset = row[0];
    try {
      return { offset, event: fromSqliteRow(row, this.runNames.nameOf) };
    } catch (error) {
      throw new EventLogFileError(this.path, "corrupt", `the event at offset ${offset} does not decode`, {
        cause: error,
      });
    }
  }

  /** Lean manifests' input job runs, by their number in the `ids` table. */
  private readonly runNames = new JobRunNames(
    (id) => this.sql(`SELECT value FROM ids WHERE id = ?`).pluck().get(id) as StoredId | undefined,
  );

  /** A frozen read that may be out of date (a writer appeared, the file changed) is replaced by a fresh connection. */
  private refreshFrozenRead(): void {
    if (this.frozen === undefined || this.reopen === undefined || this.db.inTransaction) return;
    if (!frozenReadIsStale(this.path, this.frozen)) return;
    const fresh = this.reopen();
    this.statements.clear();
    // Perhaps another file now: its ids table numbers job runs its own way.
    this.runNames.forget();
    this.db.close();
    this.db = fresh.db;
    this.frozen = fresh.frozen;
    this.layout = userVersion(fresh.db);
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

function userVersion(db: Database): number {
  return db.pragma("user_version", { simple: true }) as number;
}
