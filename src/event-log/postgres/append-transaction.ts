/**
 * @module Storing a batch of events at the offsets after the head, under
 * the log's lock: in one autocommitted statement (appendUnlocked, every
 * plain append), or inside a transaction that took the lock first
 * (lockLog, then storeRows: appendAtomically, and a batch whose events
 * another writer stored meanwhile).
 *
 * Why a lock, and why this one. Offsets must become visible in increasing
 * order (core/event-log.ts, LoggedEvent.offset): a reader that has seen
 * offset n must never meet a lower one later. A sequence (`bigserial`) hands
 * out numbers when rows are inserted, not when they commit, so a transaction
 * that drew 7 can commit after one that drew 8 was read, and a reader whose
 * cursor passed 8 never sees 7. Here the offsets are drawn from the head kept
 * in the one row of `databuild_log`, which the appending transaction locks
 * (UPDATE, or SELECT ... FOR UPDATE) and holds until it ends. The next one
 * waits on that lock, and PostgreSQL makes a committed transaction visible
 * before it releases its locks, so the next one can only draw (and commit)
 * offsets above those already visible. A transaction that fails restores
 * the head, so offsets stay dense. The lock is taken once per batch (group
 * commit gathers a process's appends into one), and held as briefly as the
 * server allows: a plain append takes it inside its one statement, which
 * also commits, so no round trip to this process happens while it is held;
 * everything else (encoding, looking up duplicates) is done before.
 */
import { performance } from "node:perf_hooks";
import type { PoolClient } from "pg";
import type { EventRow } from "../event-row.ts";
import { appendStatement, appendValues } from "./event-rows.ts";
import { storedIdBytes } from "./id-bytes.ts";

/** What runs a statement: a pooled connection, or the pool (a connection of its own, autocommit). */
export interface Queryable {
  query(config: { text: string; values?: unknown[]; rowMode: "array" }): Promise<{ rows: unknown[][] }>;
}

/** Where a batch went: each event's offset, and the head after it. */
export interface StoredBatch {
  readonly offsets: number[];
  readonly head: number;
  /** How long the inserting statement took, as seen from here, and how much of it was waiting for the lock. */
  readonly statementMs: number;
  readonly lockWaitMs: number;
}

/** Locks the log until the transaction ends and returns its head. Waits while another transaction holds it. */
export async function lockLog(client: PoolClient): Promise<number> {
  const result = await client.query<[number]>({ text: `SELECT head FROM databuild_log FOR UPDATE`, rowMode: "array" });
  const row = result.rows[0];
  if (row === undefined) throw new Error("the databuild_log table has no row: this database is not a sound event log");
  return row[0];
}

/**
 * Stores `rows` in one autocommitted statement (appendStatement): the lock
 * is taken inside it and held only while the server inserts and commits, no
 * round trip to this process in between. An event stored already (a
 * relayed event), or that comes twice in `rows`, is stored once, its later
 * copies getting the stored offset. Returns undefined, having stored
 * nothing, when a writer that held the lock just before stored one of these
 * events (the statement's look-up could not see it, and the unique index
 * refused it): the caller then stores them under the lock (`storeRows`).
 */
export async function appendUnlocked(
  db: Queryable,
  rows: readonly EventRow[],
  notify: boolean,
): Promise<StoredBatch | undefined> {
  if (rows.length === 0) return undefined;
  try {
    const started = performance.now();
    const stored = await store(db, rows, notify);
    return { ...stored, statementMs: performance.now() - started };
  } catch (error) {
    if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) return undefined;
    throw error;
  }
}

/**
 * Stores `rows` after `head` in the caller's transaction, which holds the
 * lock (`lockLog`), and returns each one's offset and the new head.
 * Duplicates are handled as by `appendUnlocked`, looked up under the lock,
 * so an event committed by the previous holder is found.
 */
export async function storeRows(
  client: PoolClient,
  rows: readonly EventRow[],
  head: number,
  notify: boolean,
): Promise<{ offsets: number[]; head: number }> {
  if (rows.length === 0) return { offsets: [], head };
  const stored = await store(client, rows, notify);
  if (stored.base !== head) throw new Error(`the log's head moved from ${head} to ${stored.base} under its lock`);
  return { offsets: stored.offsets, head: stored.head };
}

/** SQLSTATE of a duplicate key. */
const UNIQUE_VIOLATION = "23505";

/** Runs appendStatement for `rows`, each id sent once. */
async function store(
  db: Queryable,
  rows: readonly EventRow[],
  notify: boolean,
): Promise<{ offsets: number[]; base: number; head: number; lockWaitMs: number }> {
  const ids = rows.map((r) => storedIdBytes(r.eventId).toString("hex"));
  const firstCopy = new Map<string, number>();
  const distinct: EventRow[] = [];
  const slots = rows.map((row, i) => {
    let k = firstCopy.get(ids[i]!);
    if (k === undefined) {
      k = distinct.push(row) - 1;
      firstCopy.set(ids[i]!, k);
    }
    return k;
  });
  const result = await db.query({ text: appendStatement(notify), values: appendValues(distinct), rowMode: "array" });
  const [base, added, lockWaitMs, offsets] = result.rows[0] as [number, number, number, string[]];
  // bigint arrays come back as strings; every offset fits a double exactly.
  const each = offsets.map(Number);
  return { offsets: slots.map((k) => each[k]!), base, head: base + added, lockWaitMs };
}
