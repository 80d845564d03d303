/**
 * @module Watching a log by polling: the way to see appends made by other
 * processes when the backend has no notification channel.
 */
import type { EventFilter, LoggedEvent } from "../core/event-log.ts";

/** Reads events after `after` matching `filter`, in offset order, at most `limit`. */
export type ReadBatch = (
  after: number,
  filter: EventFilter | undefined,
  limit: number,
) => LoggedEvent[] | Promise<LoggedEvent[]>;

export interface PollWatchOptions {
  readonly intervalMs: number;
  /** Most events handed to the listener in one call; a full batch polls again at once. */
  readonly batchLimit: number;
}

/**
 * One watch: delivers the events after a cursor in offset order, each exactly
 * once, polling every `intervalMs` and whenever `poke()` is called (after a
 * local commit, so in-process watchers need not wait for the timer). The
 * cursor advances to the last delivered offset, so no event is skipped as
 * long as the backend makes offsets visible in increasing order (SQLite
 * serializes writers, so it does). Timers are unref'd: a watch alone does not
 * keep the process alive. A listener or read that throws ends the watch, and
 * the error surfaces as an unhandled rejection (the port has no error channel).
 */
export class PollWatch {
  private cursor: number;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private again = false;
  private stopped = false;

  constructor(
    after: number,
    private readonly listener: (events: LoggedEvent[]) => void,
    private readonly filter: EventFilter | undefined,
    private readonly readBatch: ReadBatch,
    private readonly options: PollWatchOptions,
  ) {
    this.cursor = after;
    this.schedule(0);
  }

  /** Polls soon, regardless of the timer. */
  poke(): void {
    if (this.stopped) return;
    if (this.polling) this.again = true;
    else this.schedule(0);
  }

  /** No delivery happens after this returns. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    this.polling = true;
    this.again = false;
    let full = false;
    try {
      const events = await this.readBatch(this.cursor, this.filter, this.options.batchLimit);
      if (this.stopped || events.length === 0) return;
      this.cursor = events[events.length - 1]!.offset;
      full = events.length >= this.options.batchLimit;
      this.listener(events);
    } catch (error) {
      this.stop();
      throw error;
    } finally {
      this.polling = false;
      if (!this.stopped) this.schedule(full || this.again ? 0 : this.options.intervalMs);
    }
  }
}
