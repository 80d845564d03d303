/**
 * @module An EventLog held in memory: unit tests of pure logic, and an empty stand-in where no log file exists yet.
 */
import { clone } from "@bufbuild/protobuf";
import type { AtomicDecision, AtomicOutcome, EventFilter, EventLog, LoggedEvent } from "../core/event-log.ts";
import { BuildEventSchema, type BuildEvent } from "../gen/databuild_pb.ts";
import { matchesFilter } from "./event-filter.ts";
import { MemorySnapshotStore } from "./memory-snapshot-store.ts";
import { requireEventIds } from "./require-event-ids.ts";

interface MemoryWatch {
  cursor: number;
  scheduled: boolean;
  stopped: boolean;
  readonly listener: (events: LoggedEvent[]) => void;
  readonly filter: EventFilter | undefined;
}

/**
 * A non-persistent EventLog. Appends are "durable" as soon as they return;
 * events are cloned on the way in and out, so callers share no objects with
 * the log (as with a real backend). Watchers are called on a microtask after
 * `watch` and after each append. Re-appending a stored event id returns the
 * stored offset and stores nothing.
 */
export class MemoryEventLog implements EventLog {
  private readonly events: LoggedEvent[] = [];
  private readonly offsetById = new Map<string, number>();
  private readonly watches = new Set<MemoryWatch>();
  private closed = false;
  readonly snapshots = new MemorySnapshotStore();

  async append(events: readonly BuildEvent[]): Promise<number[]> {
    this.ensureOpen();
    requireEventIds(events);
    const offsets = events.map((event) => {
      const existing = this.offsetById.get(event.eventId);
      if (existing !== undefined) return existing;
      const offset = this.events.length + 1;
      this.events.push({ offset, event: clone(BuildEventSchema, event) });
      this.offsetById.set(event.eventId, offset);
      return offset;
    });
    for (const w of this.watches) this.deliverSoon(w);
    return offsets;
  }

  async appendAtomically<T>(
    after: number,
    filter: EventFilter | undefined,
    decide: (events: readonly LoggedEvent[]) => AtomicDecision<T>,
  ): Promise<AtomicOutcome<T>> {
    this.ensureOpen();
    // Single-threaded: nothing can interleave between the read and the append.
    const { append, result } = decide(this.select(after, filter, Infinity));
    const offsets = append.length > 0 ? await this.append(append) : [];
    return { result, offsets, head: this.events.length };
  }

  async read(after: number, filter?: EventFilter, limit = Infinity): Promise<LoggedEvent[]> {
    this.ensureOpen();
    return this.select(after, filter, limit);
  }

  async readAt(offsets: readonly number[]): Promise<LoggedEvent[]> {
    this.ensureOpen();
    return [...new Set(offsets)]
      .sort((a, b) => a - b)
      .map((o) => this.events[o - 1])
      .filter((e): e is LoggedEvent => e !== undefined)
      .map((e) => ({ offset: e.offset, event: clone(BuildEventSchema, e.event) }));
  }

  watch(after: number, listener: (events: LoggedEvent[]) => void, filter?: EventFilter): () => void {
    this.ensureOpen();
    const w: MemoryWatch = { cursor: after, scheduled: false, stopped: false, listener, filter };
    this.watches.add(w);
    this.deliverSoon(w);
    return () => {
      w.stopped = true;
      this.watches.delete(w);
    };
  }

  async head(): Promise<number> {
    this.ensureOpen();
    return this.events.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watches) w.stopped = true;
    this.watches.clear();
  }

  private select(after: number, filter: EventFilter | undefined, limit: number): LoggedEvent[] {
    const out: LoggedEvent[] = [];
    // Offsets are dense from 1, so offset `after + 1` is at index `after`.
    for (let i = Math.max(0, after); i < this.events.length && out.length < limit; i++) {
      const e = this.events[i]!;
      if (matchesFilter(e.event, filter)) out.push({ offset: e.offset, event: clone(BuildEventSchema, e.event) });
    }
    return out;
  }

  private deliverSoon(w: MemoryWatch): void {
    if (w.scheduled || w.stopped) return;
    w.scheduled = true;
    queueMicrotask(() => {
      w.scheduled = false;
      if (w.stopped) return;
      const events = this.select(w.cursor, w.filter, Infinity);
      if (events.length === 0) return;
      w.cursor = events[events.length - 1]!.offset;
      w.listener(events);
    });
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error("the event log is closed");
  }
}
