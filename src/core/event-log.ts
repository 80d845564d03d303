/**
 * @module The build event log port (SPEC 3.5): an append-only sequence of
 * BuildEvents shared by every build request, from which all status is
 * derived. Kept to append, read from a cursor and watch; status questions
 * ("is this partition available?") are projections over events
 * (src/core/projections/), not methods here, so every backend stays small.
 */
import type { BuildEvent } from "../gen/databuild_pb.ts";
import type { EventCase } from "./build-event.ts";

/** An event as stored, with its position in the log. */
export interface LoggedEvent {
  /** 1 for the first event, increasing by append order across all writers. */
  readonly offset: number;
  readonly event: BuildEvent;
}

/** Narrows a read or watch. Fields combine with AND. */
export interface EventFilter {
  readonly buildRequestId?: string;
  readonly jobRunId?: string;
  /** Only these payload kinds (`event.case`). */
  readonly kinds?: readonly EventCase[];
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
  /** The offset of the last event (0 when empty). */
  head(): Promise<number>;
  /** Flushes pending appends and releases the backend. */
  close(): Promise<void>;
}
