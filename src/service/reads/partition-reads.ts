/**
 * @module GetPartitions and ListPartitions: catalog lookups on the live log.
 * Each answer is what `databuild status --json` prints for the ref: the
 * catalog's PartitionStatusView with the manifest of its last successful
 * build, read back from the log by position (one read for the whole page).
 */
import { create } from "@bufbuild/protobuf";
import {
  GetPartitionsResponseSchema,
  ListPartitionsResponseSchema,
  PartitionStatus,
  type GetPartitionsRequest,
  type GetPartitionsResponse,
  type ListPartitionsRequest,
  type ListPartitionsResponse,
  type PartitionManifest,
  type PartitionStatusView,
} from "../../gen/databuild_pb.ts";
import type { EventLog } from "../../core/event-log.ts";
import { parseOutputPattern } from "../../core/output-pattern.ts";
import { partitionStatusView } from "../../core/projections/partition-catalog.ts";
import type { LiveLog } from "./live-log.ts";
import { RefIndex } from "./ref-index.ts";
import { decodeToken, encodeToken, invalidArgument, pageSize, validRef } from "./rpc-errors.ts";

/** Most refs one GetPartitions may ask for (the body limit bounds it too). */
export const MAX_GET_PARTITIONS = 100_000;

export class PartitionReads {
  private readonly index: RefIndex;

  constructor(
    private readonly log: EventLog,
    private readonly live: LiveLog,
  ) {
    this.index = new RefIndex(live);
  }

  async getPartitions(request: GetPartitionsRequest): Promise<GetPartitionsResponse> {
    if (request.partitions.length > MAX_GET_PARTITIONS)
      throw invalidArgument(
        `partitions: at most ${MAX_GET_PARTITIONS} refs per call, got ${request.partitions.length}`,
      );
    const refs = request.partitions.map((ref, i) => validRef(ref, `partitions[${i}]`));
    return create(GetPartitionsResponseSchema, { partitions: await this.views(refs) });
  }

  async listPartitions(request: ListPartitionsRequest): Promise<ListPartitionsResponse> {
    const size = pageSize(request.pageSize, 100, 10_000);
    if (request.pattern && request.prefix) throw invalidArgument("pattern and prefix: give one of them, not both");
    let match: (ref: string) => boolean = () => true;
    let prefix = request.prefix;
    if (request.pattern) {
      const pattern = parseOutputPattern(request.pattern);
      if (typeof pattern === "string") throw invalidArgument(`pattern ${JSON.stringify(request.pattern)}: ${pattern}`);
      prefix = pattern.literalPrefix;
      match = (ref) => pattern.match(ref) !== undefined;
    }
    const statuses = new Set(request.statuses);
    for (const status of statuses)
      if (PartitionStatus[status] === undefined) throw invalidArgument(`statuses: unknown partition status ${status}`);
    const after = request.pageToken ? decodeToken(request.pageToken) : undefined;
    const refs = this.index.refs();
    const { catalog } = this.live;
    const wanted = (ref: string) => {
      if (!match(ref)) return false;
      return (
        statuses.size === 0 || statuses.has(catalog.get(ref)?.status ?? PartitionStatus.PARTITION_STATUS_UNSPECIFIED)
      );
    };
    const page: string[] = [];
    let total = 0;
    let more = false;
    // Every ref with the prefix lies in one run of the sorted refs.
    for (let i = RefIndex.lowerBound(refs, prefix); i < refs.length; i++) {
      const ref = refs[i]!;
      if (!ref.startsWith(prefix)) break;
      if (!wanted(ref)) continue;
      total++;
      if (after !== undefined && ref <= after) continue;
      if (page.length < size) page.push(ref);
      else more = true;
    }
    return create(ListPartitionsResponseSchema, {
      partitions: await this.views(page),
      total: BigInt(total),
      nextPageToken: more ? encodeToken(page[page.length - 1]!) : "",
    });
  }

  /** The status views of `refs`, in order, manifests read back in one call. */
  private async views(refs: readonly string[]): Promise<PartitionStatusView[]> {
    const { catalog } = this.live;
    const entries = refs.map((ref) => catalog.get(ref));
    const offsets = [...new Set(entries.flatMap((e) => (e?.built ? [e.built.offset] : [])))].sort((a, b) => a - b);
    const manifests = new Map<number, PartitionManifest>();
    if (offsets.length > 0)
      for (const { offset, event } of await this.log.readAt(offsets))
        if (event.event.case === "partitionManifest") manifests.set(offset, event.event.value);
    return refs.map((ref, i) => {
      const entry = entries[i];
      return partitionStatusView(ref, entry, entry?.built ? manifests.get(entry.built.offset) : undefined);
    });
  }
}
