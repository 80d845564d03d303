/**
 * @module The build event log port (SPEC 3.5): an append-only sequence of
 * BuildEvents shared by every build request, from which all status is
 * derived. Kept to append, read from a cursor and watch; status questions
 * ("is this partition available?") are projections over events
 * (src/core/projections/), not methods here, so every backend stays small.
 */
import type { BuildEvent } from "../gen/databuild_pb.ts";
import type { EventCase } from "./build-event.ts";
import type { SnapshotStore } from "./read-model.ts";

/** An event as stored, with its position in the log. */
export interface LoggedEvent {
  /**
   * The event's position: 1 for the first event, increasing across all
   * writers, assigned in commit order. Once any reader has seen offset n, no
   * event with an offset below n can still commit, so a reader that tails the
   * log with `read(cursor)` never misses an event. Every backend must
   * guarantee this (the contract suite checks it with writers on separate
   * connections); a plain sequence drawn before commit does not: a
   * transaction that drew 7 may commit after one that drew 8 was read.
   */
  readonly offset: number;
  readonly event: BuildEvent;
}

/** Narrows a read or watch. Fields combine with AND. */
export interface EventFilter {
  readonly buildRequestId?: string;
  /**
   * Only events of other build requests than this one: a build that keeps its
   * own events in memory reads only what others logged meanwhile.
   */
  readonly exceptBuildRequestId?: string;
  readonly jobRunId?: string;
  /** Only these payload kinds (`event.case`). */
  readonly kinds?: readonly EventCase[];
  /**
   * Only events about at least one of these partitions (`partitionRefsOf`):
   * served from the per-partition index, so its cost follows the number of
   * events about them, not the length of the log. An empty list matches nothing.
   */
  readonly partitions?: readonly string[];
}

/** What `decide` returns inside `EventLog.appendAtomically`. */
export interface AtomicDecision<T> {
  /** Events to append in the same transaction (possibly none). */
  readonly append: readonly BuildEvent[];
  readonly result: T;
}

export interface AtomicOutcome<T> {
  readonly result: T;
  readonly offsets: number[];
  /**
   * The log's last offset when the transaction committed: `decide` saw every
   * event matching the filter up to here, so a caller's projection can go on
   * from it.
   */
  readonly head: number;
}

export interface EventLog {
  /**
   * Appends events in order. Resolves with their offsets once they are
   * durable: an acknowledged event survives kill -9 of any process. Concurrent
   * calls may be committed together (group commit), preserving call order.
   */
  append(events: readonly BuildEvent[]): Promise<number[]>;
  /** Events with offset greater than `after`, in offset order, at most `limit`. */
  read(after: number, filter?: EventFilter, limit?: number): Promise<LoggedEvent[]>;
  /**
   * Calls `listener` with each batch of events after `after` matching
   * `filter`, including ones appended later by other processes, in order and
   * without gaps, until the returned function is called.
   */
  watch(after: number, listener: (events: LoggedEvent[]) => void, filter?: EventFilter): () => void;
  /**
   * Reads the events after `after` matching `filter`, hands them to `decide`,
   * and appends what it returns, as one step that no other writer (in any
   * process, on any host) can interleave with. This is how build requests
   * claim partitions without a check-then-act race. Events this process
   * appended earlier are committed first. `decide` must be synchronous and
   * must not use the log; if it throws, nothing is appended.
   * SQLite: one IMMEDIATE transaction; a server database: a transaction under
   * one lock for claims.
   */
  appendAtomically<T>(
    after: number,
    filter: EventFilter | undefined,
    decide: (events: readonly LoggedEvent[]) => AtomicDecision<T>,
  ): Promise<AtomicOutcome<T>>;
  /** The events stored at `offsets`, in offset order; offsets with no event are skipped. */
  readAt(offsets: readonly number[]): Promise<LoggedEvent[]>;
  /** The offset of the last event (0 when empty). */
  head(): Promise<number>;
  /** Where read-model snapshots are kept beside this log, if the backend keeps them. */
  readonly snapshots?: SnapshotStore;
  /** Flushes pending appends and releases the backend. */
  close(): Promise<void>;
}
