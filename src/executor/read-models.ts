/**
 * @module Every read model databuild keeps snapshots of, and the two things
 * done with all of them: bringing their snapshots up to date (after a
 * build, by the process that wrote the events), and rebuilding them from
 * the whole log (`databuild reindex`).
 */
import type { EventLog } from "../core/event-log.ts";
import type { ReadModel } from "../core/read-model.ts";
import { BuildRequests } from "../core/projections/build-requests.ts";
import { ClaimBook } from "../core/projections/claims.ts";
import { JobRuns } from "../core/projections/job-runs.ts";
import { PartitionCatalog } from "../core/projections/partition-catalog.ts";
import { loadReadModel, type LoadOptions } from "./read-model-loader.ts";
import { SharedViewModel } from "./shared-view.ts";

/** Makers of every read model, by name. */
export const READ_MODELS: readonly (() => ReadModel)[] = [
  () => new SharedViewModel(),
  () => new PartitionCatalog(),
  () => new ClaimBook(),
  () => new BuildRequests(),
  () => new JobRuns(),
];

/**
 * Loads every read model and leaves a new snapshot where the tail since
 * the last one is long: what a writer (a build) does before it closes the
 * log, so that the next command reads little. Costs about what folding the
 * events since the last snapshots costs.
 */
export async function refreshSnapshots(log: EventLog, options: Pick<LoadOptions, "note"> = {}): Promise<void> {
  if (!log.snapshots) return;
  for (const make of READ_MODELS) await loadReadModel(log, make, options);
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
