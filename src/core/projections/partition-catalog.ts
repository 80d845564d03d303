/**
 * @module The partition catalog: the latest status of every partition,
 * folded from the build event log. The log is the catalog; a partition is
 * available exactly when the latest thing recorded about it is a manifest (or
 * the AVAILABLE status that follows one).
 */
import { create } from "@bufbuild/protobuf";
import {
  PartitionStatus,
  PartitionStatusViewSchema,
  type BuildEvent,
  type PartitionManifest,
  type PartitionStatusView,
} from "../../gen/databuild_pb.ts";
import type { EventCase } from "../build-event.ts";
import { refill, stateObject, type ReadModel } from "../read-model.ts";

/** The event kinds the catalog folds; read only these. */
export const PARTITION_CATALOG_KINDS: readonly EventCase[] = ["partitionStatusChanged", "partitionManifest"];

const PER_REQUEST_STATUSES = new Set([PartitionStatus.PARTITION_REQUESTED, PartitionStatus.PARTITION_DELEGATED]);

export class PartitionCatalog implements ReadModel {
  readonly name = "partition-catalog";
  readonly version = 1;
  readonly kinds = PARTITION_CATALOG_KINDS;
  private readonly partitions = new Map<string, PartitionStatusView>();
  /** Job labels by job run id, so a status can name the job that produced it. */
  private readonly jobLabels = new Map<string, string>();

  saveState(): unknown {
    return { partitions: this.partitions, jobLabels: this.jobLabels };
  }

  restoreState(state: unknown): void {
    const saved = stateObject(this.name, state, ["partitions", "jobLabels"]);
    refill(this.name, this.partitions, saved.partitions);
    refill(this.name, this.jobLabels, saved.jobLabels);
  }

  apply(event: BuildEvent): void {
    const payload = event.event;
    if (payload.case === "partitionManifest") {
      const manifest = payload.value;
      const label = manifest.task?.job?.label ?? "";
      this.jobLabels.set(manifest.jobRunId, label);
      for (const output of manifest.outputs) {
        this.partitions.set(
          output.str,
          create(PartitionStatusViewSchema, {
            partitionRef: { str: output.str },
            status: PartitionStatus.PARTITION_AVAILABLE,
            buildRequestId: manifest.buildRequestId || event.buildRequestId,
            jobRunId: manifest.jobRunId,
            jobLabel: label,
            updatedAt: event.timestamp,
            manifest,
          }),
        );
      }
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
        change.jobRunId || (change.status === PartitionStatus.PARTITION_REQUESTED ? "" : (previous?.jobRunId ?? ""));
      this.partitions.set(
        ref,
        create(PartitionStatusViewSchema, {
          partitionRef: { str: ref },
          status: change.status,
          buildRequestId: event.buildRequestId,
          jobRunId,
          jobLabel: this.jobLabels.get(jobRunId) ?? "",
          updatedAt: event.timestamp,
          manifest: previous?.manifest,
          message: change.message,
        }),
      );
    }
  }

  get(ref: string): PartitionStatusView | undefined {
    return this.partitions.get(ref);
  }

  /** The manifest that made `ref` available, or undefined if it is not available now. */
  availableManifest(ref: string): PartitionManifest | undefined {
    const view = this.partitions.get(ref);
    return view?.status === PartitionStatus.PARTITION_AVAILABLE ? view.manifest : undefined;
  }

  all(): IterableIterator<PartitionStatusView> {
    return this.partitions.values();
  }
}
