/**
 * @module Every read model databuild keeps snapshots of, and the two things
 * done with all of them: loading them at the start of a build (one read of
 * the log since their snapshots, which leaves new snapshots behind), and
 * rebuilding them from the whole log (`databuild reindex`).
 */
import type { EventLog } from "../core/event-log.ts";
import type { ReadModel } from "../core/read-model.ts";
import { BuildRequests } from "../core/projections/build-requests.ts";
import { ClaimBook } from "../core/projections/claims.ts";
import { JobRuns } from "../core/projections/job-runs.ts";
import { PartitionCatalog } from "../core/projections/partition-catalog.ts";
import { TriggerBook } from "../core/projections/triggers.ts";
import { TokenBook } from "../core/projections/tokens.ts";
import { loadReadModel, SNAPSHOT_AFTER_EVENTS, type LoadOptions } from "./read-model-loader.ts";
import { SharedView, SharedViewModel } from "./shared-view.ts";

/**
 * Makers of every read model databuild snapshots. The partition catalog, the
 * claim book and the build requests are snapshotted once, inside the shared
 * view (commands that need only one of them load the shared view all the
 * same). Job runs are only for finding a run by an abbreviated id: a command
 * that knows the run reads that run's events alone. The token book is the
 * service's (src/tokens/).
 */
export const READ_MODELS: readonly (() => ReadModel)[] = [
  () => new SharedViewModel(),
  () => new JobRuns(),
  () => new TokenBook(),
  () => new TriggerBook(),
];

/** Every read model, including those only ever loaded inside another (for tests that compare with a replay). */
export const ALL_READ_MODELS: readonly (() => ReadModel)[] = [
  ...READ_MODELS,
  () => new PartitionCatalog(),
  () => new ClaimBook(),
  () => new BuildRequests(),
];

/**
 * Loads the shared view a build starts from (its snapshot and the events
 * after it), leaving a new snapshot when that tail was long (a build may
 * write the log; reading commands may not).
 */
export async function loadForBuild(
  log: EventLog,
  view: SharedView,
  options: Pick<LoadOptions, "note"> = {},
): Promise<void> {
  const shared = await loadReadModel(log, () => new SharedViewModel(), options);
  // The loader snapshots a long tail itself: count what it left unsnapshotted.
  view.adopt(shared.model, shared.cursor, shared.tail >= SNAPSHOT_AFTER_EVENTS ? 0 : shared.tail);
}

export interface ReindexedModel {
  readonly name: string;
  readonly version: number;
  readonly events: number;
  readonly offset: number;
  readonly ms: number;
}

/** Deletes every snapshot, replays each read model from the whole log and snapshots it. */
export async function reindex(log: EventLog, onModel?: (done: ReindexedModel) => void): Promise<ReindexedModel[]> {
  const store = log.snapshots;
  if (!store) throw new Error("this event log keeps no snapshots");
  await store.clear();
  const done: ReindexedModel[] = [];
  for (const make of READ_MODELS) {
    const started = performance.now();
    const { model, cursor, tail } = await loadReadModel(log, make, { replay: true, snapshotAfter: 0 });
    const result = {
      name: model.name,
      version: model.version,
      events: tail,
      offset: cursor,
      ms: Math.round(performance.now() - started),
    };
    done.push(result);
    onModel?.(result);
  }
  return done;
}
