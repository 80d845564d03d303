/**
 * @module Loading read models: the latest snapshot (if its version matches
 * and it is sound) plus the events after it, of the model's kinds only. A
 * snapshot of another version, or a damaged one, is ignored with a note and
 * the model is rebuilt from the log. After a long tail, the loader leaves a
 * new snapshot behind (when the log may be written), so the next load reads
 * less.
 */
import type { EventLog } from "../core/event-log.ts";
import type { ReadModel } from "../core/read-model.ts";

const PAGE = 10_000;
/** A tail at least this long is worth a new snapshot. */
export const SNAPSHOT_AFTER_EVENTS = 2_000;

export interface LoadedReadModel<M extends ReadModel> {
  readonly model: M;
  /** The offset the model has folded up to (go on from here). */
  readonly cursor: number;
  /** Events applied after the snapshot (all of them without one). */
  readonly tail: number;
}

export interface LoadOptions {
  /** Told when a snapshot was ignored, and why (the CLI writes it to stderr). */
  readonly note?: (text: string) => void;
  /** Ignore snapshots: a full replay (reindex, and tests that compare). */
  readonly replay?: boolean;
  /** Leave a snapshot behind after a tail this long (default SNAPSHOT_AFTER_EVENTS; Infinity: never). */
  readonly snapshotAfter?: number;
}

/** Loads a fresh model from `make()`; see the module comment. */
export async function loadReadModel<M extends ReadModel>(
  log: EventLog,
  make: () => M,
  options: LoadOptions = {},
): Promise<LoadedReadModel<M>> {
  let model = make();
  let after = 0;
  const store = log.snapshots;
  if (store && !options.replay) {
    const { snapshot, problem } = await store.load(model.name);
    if (problem) options.note?.(`read model ${model.name}: ${problem}; rebuilding it from the log`);
    else if (snapshot && snapshot.version !== model.version)
      options.note?.(
        `read model ${model.name}: its snapshot is of version ${snapshot.version}, this databuild reads version ${model.version}; rebuilding it from the log`,
      );
    else if (snapshot) {
      try {
        model.restoreState(snapshot.state);
        after = snapshot.offset;
      } catch (error) {
        options.note?.(`read model ${model.name}: ${(error as Error).message}; rebuilding it from the log`);
        model = make();
      }
    }
  }
  const { cursor, applied } = await foldAfter(log, model, after);
  const threshold = options.snapshotAfter ?? SNAPSHOT_AFTER_EVENTS;
  if (store && applied >= threshold) {
    await store.save({ name: model.name, version: model.version, offset: cursor, state: model.saveState() });
  }
  return { model, cursor, tail: applied };
}

/** Applies every event of the model's kinds after `after`; returns the last offset read and how many. */
export async function foldAfter(
  log: EventLog,
  model: Pick<ReadModel, "apply" | "kinds">,
  after: number,
): Promise<{ cursor: number; applied: number }> {
  // Every event at or before the head now is visible to the reads below (positions are in
  // commit order), so once they are done the model has seen everything up to it.
  const head = await log.head();
  let cursor = after;
  let applied = 0;
  for (;;) {
    const page = await log.read(cursor, { kinds: model.kinds }, PAGE);
    for (const logged of page) model.apply(logged.event);
    applied += page.length;
    if (page.length > 0) cursor = page[page.length - 1]!.offset;
    if (page.length < PAGE) break;
  }
  return { cursor: Math.max(cursor, head), applied };
}
