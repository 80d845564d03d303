/**
 * @module The read-model contract (SPEC 3.6): a view derived from the build
 * event log that answers questions without replaying the whole history. A
 * read model is a cache, never the source of truth: it declares the event
 * kinds it reads, how it applies one, and how its state is saved and
 * restored, so it can be loaded from a snapshot plus the events after it,
 * thrown away and rebuilt from the log (`databuild reindex`) with the same
 * result as a full replay.
 */
import type { BuildEvent } from "../gen/databuild_pb.ts";
import type { EventCase } from "./build-event.ts";

export interface ReadModel {
  /** Unique among read models; names its snapshots. */
  readonly name: string;
  /**
   * Bumped whenever `apply` or the saved state's shape changes: a snapshot
   * of another version is ignored and the model rebuilt from the log.
   */
  readonly version: number;
  /** The only event kinds `apply` looks at (the loader reads only these). */
  readonly kinds: readonly EventCase[];
  /** Folds one event, in offset order; each event exactly once. `offset` is its position in the log. */
  apply(event: BuildEvent, offset: number): void;
  /**
   * The whole state as plain data (objects, arrays, Maps, Sets, bigints,
   * byte arrays; shared references are kept): what a snapshot stores. It
   * may be the model's own live maps: a store copies it synchronously,
   * within the call to `save`.
   */
  saveState(): unknown;
  /** Replaces the state with one `saveState` returned. Throws if it is not one. */
  restoreState(state: unknown): void;
}

/** A saved state, the position it was taken at, and the model version that took it. */
export interface ReadModelSnapshot {
  readonly name: string;
  readonly version: number;
  /** Every event at or before this offset (of the model's kinds) is in `state`, none after it. */
  readonly offset: number;
  readonly state: unknown;
}

/**
 * Where snapshots are kept (beside the log, in the same database). A cache:
 * losing every snapshot loses nothing but time.
 */
export interface SnapshotStore {
  /** The latest snapshot of `name`, or undefined (none, or unreadable: `problem` says why). */
  load(name: string): Promise<{ snapshot?: ReadModelSnapshot; problem?: string }>;
  /**
   * Keeps `snapshot` unless one at a later offset of the same version is
   * kept already. Atomic: a crash leaves the old snapshot or the new one.
   * A store that cannot write (a read-only log) does nothing.
   */
  save(snapshot: ReadModelSnapshot): Promise<void>;
  /** Deletes every snapshot (`databuild reindex`). */
  clear(): Promise<void>;
}

/** Thrown by `restoreState` for a state it does not recognise. */
export class ReadModelStateError extends Error {
  constructor(model: string, problem: string) {
    super(`read model ${model}: ${problem}`);
    this.name = "ReadModelStateError";
  }
}

/** Checks that `state` is a non-null object whose fields `keys` are present. */
export function stateObject(model: string, state: unknown, keys: readonly string[]): Record<string, unknown> {
  if (typeof state !== "object" || state === null)
    throw new ReadModelStateError(model, "its saved state is not an object");
  const record = state as Record<string, unknown>;
  for (const key of keys) if (!(key in record)) throw new ReadModelStateError(model, `its saved state has no ${key}`);
  return record;
}

/** Replaces the entries of `target` with those of `source` (a Map from a saved state). */
export function refill<K, V>(model: string, target: Map<K, V>, source: unknown): void {
  if (!(source instanceof Map)) throw new ReadModelStateError(model, "its saved state holds no map where one belongs");
  target.clear();
  for (const [k, v] of source as Map<K, V>) target.set(k, v);
}
