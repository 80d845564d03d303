/**
 * @module GetPartitions and ListPartitions: catalog lookups on the live log.
 * Each answer is what `databuild status --json` prints for the ref: the
 * catalog's PartitionStatusView with the manifest of its last successful
 * build, from memory or read back from the log by position (one read for
 * the whole page): status-view-cache.ts.
 *
 * A binary GetPartitions answer is put together from the views' cached
 * encodings, carried as the response's unknown fields of field 1
 * (`partitions`): on the wire, exactly the repeated field. (Encoding a
 * thousand views again per call cost more than the rest of the call.) A JSON
 * answer is the decoded message, as before.
 */
import { create } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import type { HandlerContext } from "@connectrpc/connect";
import {
  GetPartitionsResponseSchema,
  ListPartitionsResponseSchema,
  PartitionStatus,
  type GetPartitionsRequest,
  type GetPartitionsResponse,
  type ListPartitionsRequest,
  type ListPartitionsResponse,
} from "../../gen/databuild_pb.ts";
import type { EventLog } from "../../core/event-log.ts";
import { parseOutputPattern } from "../../core/output-pattern.ts";
import type { LiveLog } from "./live-log.ts";
import { RefIndex } from "./ref-index.ts";
import { StatusViewCache } from "./status-view-cache.ts";
import { decodeToken, encodeToken, invalidArgument, pageSize, validRef } from "./rpc-errors.ts";

/** Most refs one GetPartitions may ask for (the body limit bounds it too). */
export const MAX_GET_PARTITIONS = 100_000;

export class PartitionReads {
  private readonly index: RefIndex;
  private readonly cache: StatusViewCache;

  constructor(
    log: EventLog,
    private readonly live: LiveLog,
  ) {
    this.index = new RefIndex(live);
    this.cache = new StatusViewCache(log, live);
  }

  /** `context`: the call's, to answer a binary call from the encoded views (none: the decoded message). */
  async getPartitions(request: GetPartitionsRequest, context?: HandlerContext): Promise<GetPartitionsResponse> {
    if (request.partitions.length > MAX_GET_PARTITIONS)
      throw invalidArgument(
        `partitions: at most ${MAX_GET_PARTITIONS} refs per call, got ${request.partitions.length}`,
      );
    const refs = request.partitions.map((ref, i) => validRef(ref, `partitions[${i}]`));
    if (context && isBinary(context)) {
      const answer = create(GetPartitionsResponseSchema);
      const fields = await this.cache.encodedViews(refs);
      answer.$unknown = fields.map((data) => ({ no: 1, wireType: WireType.LengthDelimited, data }));
      return answer;
    }
    return create(GetPartitionsResponseSchema, { partitions: await this.cache.views(refs) });
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
      partitions: await this.cache.views(page),
      total: BigInt(total),
      nextPageToken: more ? encodeToken(page[page.length - 1]!) : "",
    });
  }
}

/** Whether the call came in binary protobuf (Connect, gRPC, gRPC-web), not JSON. */
function isBinary(context: HandlerContext): boolean {
  return !(context.requestHeader.get("content-type") ?? "").includes("json");
}
