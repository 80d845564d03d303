/**
 * @module One live worker board per process: loaded from its snapshot and
 * the events after it, then kept current by one watch. Every event reaches
 * the board once, in offset order, whether it came by the watch, inside an
 * atomic append (`apply` on what `decide` found) or as what this process
 * appended (`applyAppended`); the listener sees each of them once, after the
 * board took it in.
 */
import type { BuildEvent } from "../gen/databuild_pb.ts";
import type { EventCase } from "../core/build-event.ts";
import type { EventFilter, EventLog, LoggedEvent } from "../core/event-log.ts";
import { WorkerBoard } from "../core/projections/worker-board.ts";
import { loadReadModel } from "../coordination/index.ts";

export interface BoardFollowerOptions {
  readonly pollIntervalMs?: number;
  /** Notes about the board's snapshot (damaged, another version), for stderr. */
  readonly note?: (text: string) => void;
}

export class BoardFollower {
  board = new WorkerBoard();
  /** The offset of the last event applied. */
  cursor = 0;
  ready = false;
  readonly filter: EventFilter;
  private loading: Promise<void> | undefined;
  private unwatch: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly log: EventLog,
    kinds: readonly EventCase[],
    private readonly listener: (events: readonly LoggedEvent[]) => void,
    private readonly options: BoardFollowerOptions = {},
  ) {
    this.filter = { kinds };
  }

  /** Loads the board and starts following (once); resolves when the board is loaded. */
  start(): Promise<void> {
    // A load that failed (the server was unavailable) is tried again by the next call.
    this.loading ??= this.load().catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }

  stop(): void {
    this.stopped = true;
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** Applies the events after the cursor and hands them to the listener; returns those. */
  apply(events: readonly LoggedEvent[]): LoggedEvent[] {
    const fresh = events.filter((e) => e.offset > this.cursor);
    if (fresh.length === 0) return fresh;
    for (const { event } of fresh) this.board.apply(event);
    this.cursor = fresh[fresh.length - 1]!.offset;
    this.listener(fresh);
    return fresh;
  }

  /** Applies what this process appended atomically at `offsets`. */
  applyAppended(events: readonly BuildEvent[], offsets: readonly number[]): void {
    this.apply(events.map((event, i) => ({ event, offset: offsets[i]! })));
  }

  private async load(): Promise<void> {
    const loaded = await loadReadModel(this.log, () => new WorkerBoard(), { note: this.options.note });
    if (this.stopped) return;
    this.board = loaded.model;
    this.cursor = loaded.cursor;
    this.ready = true;
    this.unwatch = this.log.watch(this.cursor, (events) => this.apply(events), this.filter);
  }
}
