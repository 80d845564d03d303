/**
 * @module Loading read models: the latest snapshot of each (if its version
 * matches and it is sound) plus the events after it, of the models' kinds
 * only, read once for all of them. A snapshot of another version, or a
 * damaged one, is ignored with a note and that model is rebuilt from the
 * log. After a long tail, the loader leaves a new snapshot behind (when the
 * log may be written), so the next load reads less.
 */
import type { EventCase } from "../core/build-event.ts";
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

/** Loads one fresh model from `make()`; see the module comment. */
export async function loadReadModel<M extends ReadModel>(
  log: EventLog,
  make: () => M,
  options: LoadOptions = {},
): Promise<LoadedReadModel<M>> {
  return (await loadReadModels(log, [make], options))[0]!;
}

/** Loads several models with one read of the log after the oldest of their snapshots. */
export async function loadReadModels<M extends ReadModel>(
  log: EventLog,
  makers: readonly (() => M)[],
  options: LoadOptions = {},
): Promise<LoadedReadModel<M>[]> {
  const started = await Promise.all(makers.map((make) => restored(log, make, options)));
  const tails = started.map(() => 0);
  const kinds = [...new Set(started.flatMap(({ model }) => model.kinds))] as EventCase[];
  const wants = started.map(({ model }) => new Set<string>(model.kinds));
  // Every event at or before the head now is visible to the reads below (positions are in
  // commit order), so once they are done each model has seen everything up to it.
  const head = await log.head();
  let cursor = Math.min(...started.map((s) => s.after));
  for (;;) {
    const page = await log.read(cursor, { kinds }, PAGE);
    for (const { offset, event } of page) {
      const kind = event.event.case ?? "";
      for (let i = 0; i < started.length; i++) {
        if (offset <= started[i]!.after || !wants[i]!.has(kind)) continue;
        started[i]!.model.apply(event, offset);
        tails[i]!++;
      }
    }
    if (page.length > 0) cursor = page[page.length - 1]!.offset;
    if (page.length < PAGE) break;
  }
  const end = Math.max(cursor, head);
  const threshold = options.snapshotAfter ?? SNAPSHOT_AFTER_EVENTS;
  const loaded = started.map(({ model }, i) => ({ model, cursor: end, tail: tails[i]! }));
  const store = log.snapshots;
  if (store) {
    for (const { model, cursor: at, tail } of loaded)
      if (tail >= threshold)
        await store.save({ name: model.name, version: model.version, offset: at, state: model.saveState() });
  }
  return loaded;
}

/** A fresh model, restored from its snapshot when there is a sound one of its version. */
async function restored<M extends ReadModel>(
  log: EventLog,
  make: () => M,
  options: LoadOptions,
): Promise<{ model: M; after: number }> {
  const model = make();
  const store = log.snapshots;
  if (!store || options.replay) return { model, after: 0 };
  const { snapshot, problem } = await store.load(model.name);
  const note = (why: string) => options.note?.(`read model ${model.name}: ${why}; rebuilding it from the log`);
  if (problem) note(problem);
  else if (snapshot && snapshot.version !== model.version)
    note(`its snapshot is of version ${snapshot.version}, this databuild reads version ${model.version}`);
  else if (snapshot) {
    try {
      model.restoreState(snapshot.state);
      return { model, after: snapshot.offset };
    } catch (error) {
      note((error as Error).message);
    }
  }
  return { model: problem || !snapshot ? model : make(), after: 0 };
}

/** Applies every event of the model's kinds after `after` (a model already loaded reading on). */
export async function foldAfter(
  log: EventLog,
  model: Pick<ReadModel, "apply" | "kinds">,
  after: number,
): Promise<{ cursor: number; applied: number }> {
  const head = await log.head();
  let cursor = after;
  let applied = 0;
  for (;;) {
    const page = await log.read(cursor, { kinds: model.kinds }, PAGE);
    for (const logged of page) model.apply(logged.event, logged.offset);
    applied += page.length;
    if (page.length > 0) cursor = page[page.length - 1]!.offset;
    if (page.length < PAGE) break;
  }
  return { cursor: Math.max(cursor, head), applied };
}
