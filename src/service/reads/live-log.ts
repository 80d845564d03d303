/**
 * @module LiveLog: the service's one live model of the log (issue 10 item
 * 4). It loads the shared view (catalog, claims, build requests), the job
 * runs and any extra read models from their snapshots and the events after
 * them, then follows the log with one watch and applies every event once,
 * in offset order, to all of them. Every read RPC answers from it; nothing
 * replays the log per call.
 */
import type { EventLog, LoggedEvent } from "../../core/event-log.ts";
import { JobRuns } from "../../core/projections/job-runs.ts";
import type { ReadModel } from "../../core/read-model.ts";
import { loadReadModels, SharedView, SharedViewModel, SNAPSHOT_AFTER_EVENTS } from "../../coordination/index.ts";
import { BuildView } from "./build-view.ts";

export interface LiveLogOptions {
  /** Read models to keep live beside the built-in ones (the service's token and trigger books). */
  readonly models?: readonly ReadModel[];
  /** Told when a snapshot was ignored, and when a listener threw. */
  readonly note?: (message: string) => void;
  /**
   * While someone awaits `caughtUpTo`, how often the log is read directly in
   * case the watch is slow to deliver (default 250 ms).
   */
  readonly pollMs?: number;
}

type Listener = (events: readonly LoggedEvent[]) => void;

interface Waiter {
  readonly offset: number;
  readonly resolve: () => void;
}

const CATCH_UP_PAGE = 5_000;

export class LiveLog {
  readonly view = new SharedView();
  readonly jobRuns: JobRuns;
  private readonly appliers: { model: ReadModel; kinds: ReadonlySet<string>; fresh: number }[] = [];
  private readonly listeners = new Set<Listener>();
  private waiters: Waiter[] = [];
  private stopWatch: () => void = () => {};
  private catchingUp = false;
  private poll: NodeJS.Timeout | undefined;
  private closed = false;
  private current = 0;

  private constructor(
    private readonly log: EventLog,
    private readonly options: LiveLogOptions,
    shared: SharedViewModel,
    jobRuns: JobRuns,
    cursor: number,
  ) {
    this.jobRuns = jobRuns;
    this.current = cursor;
    // The view keeps its own cursor in step with ours: it sees every event we do.
    this.view.adopt(shared, cursor);
    for (const model of options.models ?? []) this.appliers.push({ model, kinds: new Set(model.kinds), fresh: 0 });
    this.appliers.push({ model: jobRuns, kinds: new Set(jobRuns.kinds), fresh: 0 });
  }

  /** Loads the models (snapshot + tail, one read for all) and starts following the log. */
  static async open(log: EventLog, options: LiveLogOptions = {}): Promise<LiveLog> {
    const extra = options.models ?? [];
    const makers: (() => ReadModel)[] = [
      () => new SharedViewModel(),
      () => new JobRuns(),
      ...extra.map((m) => () => m),
    ];
    const loaded = await loadReadModels(log, makers, { note: options.note });
    // loadReadModels brings every model to the same cursor.
    const cursor = loaded[0]!.cursor;
    const live = new LiveLog(log, options, loaded[0]!.model as SharedViewModel, loaded[1]!.model as JobRuns, cursor);
    live.stopWatch = log.watch(cursor, (events) => live.apply(events));
    return live;
  }

  get catalog(): SharedView["catalog"] {
    return this.view.catalog;
  }

  get claims(): SharedView["claims"] {
    return this.view.claims;
  }

  get builds(): SharedView["builds"] {
    return this.view.builds;
  }

  /** A view for one build to run with: this model, the build's own cursor (build-view.ts). */
  viewForBuild(): BuildView {
    return new BuildView(this.view);
  }

  /** The offset of the last event applied. */
  get cursor(): number {
    return this.current;
  }

  /**
   * Resolves once every event at or before `offset` is applied: after an
   * append, await it with the append's offset (or the atomic append's head)
   * to read your own write.
   */
  caughtUpTo(offset: number): Promise<void> {
    if (offset <= this.current || this.closed) return Promise.resolve();
    const waited = new Promise<void>((resolve) => this.waiters.push({ offset, resolve }));
    void this.catchUp();
    if (!this.poll) {
      this.poll = setInterval(() => void this.catchUp(), this.options.pollMs ?? 250);
      this.poll.unref();
    }
    return waited;
  }

  /**
   * Calls `listener` with every batch of events once the models hold them
   * (all kinds, in offset order). Returns the unsubscribe function. A
   * listener must not throw (one that does is noted and kept).
   */
  onEvents(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops following the log; leaves a snapshot of models that took in many events since theirs. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopWatch();
    clearInterval(this.poll);
    this.poll = undefined;
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
    this.listeners.clear();
    const store = this.log.snapshots;
    if (!store) return;
    try {
      if (this.view.unsnapshotted >= SNAPSHOT_AFTER_EVENTS) await this.view.snapshot(this.log);
      for (const a of this.appliers)
        if (a.fresh >= SNAPSHOT_AFTER_EVENTS)
          await store.save({
            name: a.model.name,
            version: a.model.version,
            offset: this.current,
            state: a.model.saveState(),
          });
    } catch (error) {
      this.options.note?.(`could not snapshot the live read models: ${(error as Error).message}`);
    }
  }

  /** Reads what the watch has not delivered yet (one read at a time; the watch may deliver the same events too). */
  private async catchUp(): Promise<void> {
    if (this.catchingUp || this.closed) return;
    this.catchingUp = true;
    try {
      while (!this.closed && this.waiters.length > 0) {
        const page = await this.log.read(this.current, undefined, CATCH_UP_PAGE);
        this.apply(page);
        if (page.length < CATCH_UP_PAGE) break;
      }
    } catch (error) {
      this.options.note?.(`reading the log to catch up failed: ${(error as Error).message}`);
    } finally {
      this.catchingUp = false;
    }
  }

  /**
   * Applies a batch from the watch or a catch-up read. Either starts at or
   * before the cursor and runs on without gaps, so skipping what is at or
   * before the cursor applies every event exactly once, in order.
   */
  private apply(events: readonly LoggedEvent[]): void {
    if (this.closed) return;
    let start = 0;
    while (start < events.length && events[start]!.offset <= this.current) start++;
    if (start === events.length) return;
    const fresh = start === 0 ? events : events.slice(start);
    this.view.apply(fresh);
    for (const a of this.appliers) {
      for (const { event, offset } of fresh) {
        if (!a.kinds.has(event.event.case ?? "")) continue;
        a.model.apply(event, offset);
        a.fresh++;
      }
    }
    this.current = fresh[fresh.length - 1]!.offset;
    for (const listener of this.listeners) {
      try {
        listener(fresh);
      } catch (error) {
        this.options.note?.(`a listener of the live log threw: ${(error as Error).message}`);
      }
    }
    if (this.waiters.length > 0) {
      const due = this.waiters.filter((w) => w.offset <= this.current);
      if (due.length > 0) {
        this.waiters = this.waiters.filter((w) => w.offset > this.current);
        for (const waiter of due) waiter.resolve();
      }
      if (this.waiters.length === 0) {
        clearInterval(this.poll);
        this.poll = undefined;
      }
    }
  }
}
