/**
 * @module The partition catalog: the latest status of every partition,
 * folded from the build event log. The log is the catalog; a partition is
 * available exactly when the latest thing recorded about it is a manifest (or
 * the AVAILABLE status that follows one).
 *
 * It keeps what planning, staleness and invalidation decide with (who built
 * each partition, at which version, from which inputs' job runs) and the
 * position of the manifest, not the manifest: a command that shows a manifest
 * reads that one event back (`EventLog.readAt`). So its size follows the
 * number of partitions, not the history or the size of job configs.
 */
import { create } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import {
  DepType,
  PartitionStatus,
  PartitionStatusViewSchema,
  type BuildEvent,
  type PartitionManifest,
  type PartitionStatusView,
} from "../../gen/databuild_pb.ts";
import type { EventCase } from "../build-event.ts";
import type { ReadModel } from "../read-model.ts";
import { decodeCatalog, encodeCatalog, type CatalogColumns } from "./catalog-state.ts";
import { timestampAtMs } from "../timestamp.ts";

/** The event kinds the catalog folds; read only these. */
export const PARTITION_CATALOG_KINDS: readonly EventCase[] = ["partitionStatusChanged", "partitionManifest"];

const PER_REQUEST_STATUSES = new Set([PartitionStatus.PARTITION_REQUESTED, PartitionStatus.PARTITION_DELEGATED]);

/** One input of a build, as its manifest's lineage recorded it. */
export interface LineageInput {
  readonly ref: string;
  /** Whether the job had it materialized (a QUERY input only looked). */
  readonly materialize: boolean;
  /** The job run that had built the input when it was used ("" when absent or external). */
  readonly jobRunId: string;
}

/** What one manifest says about the partitions it made available, without the manifest. */
export interface BuiltPartition {
  /** The offset of the `partitionManifest` event (read it back for the whole manifest). */
  readonly offset: number;
  readonly jobRunId: string;
  readonly buildRequestId: string;
  readonly jobLabel: string;
  readonly jobVersion: string;
  readonly graphLabel: string;
  readonly endMs: number | undefined;
  readonly inputs: readonly LineageInput[];
}

/** The catalog's word on one partition. */
export interface CatalogEntry {
  readonly status: PartitionStatus;
  /** The build request and job run behind the latest status. */
  readonly buildRequestId: string;
  readonly jobRunId: string;
  readonly jobLabel: string;
  readonly updatedMs: number | undefined;
  readonly message: string;
  /** Its last successful build (what makes it available when the status is AVAILABLE). */
  readonly built: BuiltPartition | undefined;
}

export class PartitionCatalog implements ReadModel {
  readonly name = "partition-catalog";
  readonly version = 3;
  readonly kinds = PARTITION_CATALOG_KINDS;
  private readonly partitions = new Map<string, CatalogEntry>();
  /**
   * The saved state of the catalog as it is now, while nothing changed since
   * it was restored or saved: encoding takes ~100 ms at 40,000 partitions,
   * and a log whose tail holds only what leaves the catalog as it was (no-op
   * builds: REQUESTED and DELEGATED of available partitions) saves the same
   * state again. Frozen, and never changed: a snapshot store may keep what
   * it stored of it for as long as the same object comes back.
   */
  private unchanged: Readonly<CatalogColumns> | undefined;

  saveState(): unknown {
    return (this.unchanged ??= Object.freeze(encodeCatalog(this.partitions)));
  }

  restoreState(state: unknown): void {
    this.unchanged = undefined;
    decodeCatalog(this.name, state, this.partitions);
    // A frozen state is immutable (a snapshot store may know it by its identity); another is the caller's, who may
    // change it: a frozen copy then (not of its arrays).
    this.unchanged = Object.isFrozen(state)
      ? (state as CatalogColumns)
      : Object.freeze({ ...(state as CatalogColumns) });
  }

  /** Folds one event; `offset` is its position in the log (a manifest's is kept). */
  apply(event: BuildEvent, offset: number): void {
    const payload = event.event;
    if (payload.case === "partitionManifest") {
      const built = builtPartition(payload.value, event.buildRequestId, offset);
      const updatedMs = event.timestamp ? timestampMs(event.timestamp) : undefined;
      const entry: CatalogEntry = {
        status: PartitionStatus.PARTITION_AVAILABLE,
        buildRequestId: built.buildRequestId,
        jobRunId: built.jobRunId,
        jobLabel: built.jobLabel,
        updatedMs,
        message: "",
        built,
      };
      // One entry object for every output of the manifest (snapshots keep it shared).
      for (const output of payload.value.outputs) this.partitions.set(output.str, entry);
      this.unchanged = undefined;
    } else if (payload.case === "partitionStatusChanged") {
      const change = payload.value;
      const ref = change.partitionRef?.str ?? "";
      const previous = this.partitions.get(ref);
      // AVAILABLE only confirms the manifest recorded just before it.
      if (
        change.status === PartitionStatus.PARTITION_AVAILABLE &&
        previous?.status === PartitionStatus.PARTITION_AVAILABLE
      )
        return;
      // REQUESTED and DELEGATED describe one build request's view of the
      // partition, not the partition: they only show for one never built.
      if (previous && PER_REQUEST_STATUSES.has(change.status)) return;
      const jobRunId =
        // A status a job run records names it in the envelope (the payload's copy is left out).
        change.jobRunId ||
        event.jobRunId ||
        (change.status === PartitionStatus.PARTITION_REQUESTED ? "" : (previous?.jobRunId ?? ""));
      const built = previous?.built;
      this.unchanged = undefined;
      this.partitions.set(ref, {
        status: change.status,
        buildRequestId: event.buildRequestId,
        jobRunId,
        // Only a job run that built it is known to the catalog by its job.
        jobLabel: built && built.jobRunId === jobRunId ? built.jobLabel : "",
        updatedMs: event.timestamp ? timestampMs(event.timestamp) : undefined,
        message: change.message,
        built,
      });
    }
  }

  get(ref: string): CatalogEntry | undefined {
    return this.partitions.get(ref);
  }

  /** What made `ref` available, or undefined if it is not available now. */
  available(ref: string): BuiltPartition | undefined {
    const entry = this.partitions.get(ref);
    return entry?.status === PartitionStatus.PARTITION_AVAILABLE ? entry.built : undefined;
  }

  entries(): IterableIterator<[string, CatalogEntry]> {
    return this.partitions.entries();
  }

  get size(): number {
    return this.partitions.size;
  }
}

function builtPartition(manifest: PartitionManifest, eventBuildRequestId: string, offset: number): BuiltPartition {
  return {
    offset,
    jobRunId: manifest.jobRunId,
    buildRequestId: manifest.buildRequestId || eventBuildRequestId,
    jobLabel: manifest.task?.job?.label ?? "",
    jobVersion: manifest.jobVersion,
    graphLabel: manifest.graphLabel,
    endMs: manifest.endTime ? timestampMs(manifest.endTime) : undefined,
    inputs: manifest.inputs.map((input) => ({
      ref: input.partitionRef?.str ?? "",
      materialize: input.depType !== DepType.QUERY,
      jobRunId: input.jobRunId,
    })),
  };
}

/**
 * The PartitionStatusView of an entry (`status --json`, explain), with the
 * manifest of its last successful build when the caller read it back.
 */
export function partitionStatusView(
  ref: string,
  entry: CatalogEntry | undefined,
  manifest?: PartitionManifest,
): PartitionStatusView {
  if (!entry) return create(PartitionStatusViewSchema, { partitionRef: { str: ref } });
  return create(PartitionStatusViewSchema, {
    partitionRef: { str: ref },
    status: entry.status,
    buildRequestId: entry.buildRequestId,
    jobRunId: entry.jobRunId,
    jobLabel: entry.jobLabel,
    updatedAt: entry.updatedMs === undefined ? undefined : timestampAtMs(entry.updatedMs),
    manifest,
    message: entry.message,
  });
}
