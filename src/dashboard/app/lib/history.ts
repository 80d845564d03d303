/**
 * @module A partition's history, from the log: every status, manifest,
 * delegation and invalidation recorded about it. The API has no partition
 * filter on WatchEvents, so this reads the log once to its end
 * (stop_at_end) and keeps what names the ref.
 */
import { PartitionStatus, type BuildEvent } from "../../../gen/databuild_pb.ts";
import { client } from "./api.ts";
import { ms, shortId } from "./format.ts";

export interface HistoryItem {
  readonly offset: bigint;
  readonly at: number | undefined;
  readonly buildRequestId: string;
  readonly jobRunId: string;
  readonly what: string;
  readonly status?: PartitionStatus;
}

function describe(event: BuildEvent, ref: string): Omit<HistoryItem, "offset" | "at" | "buildRequestId"> | undefined {
  const payload = event.event;
  switch (payload.case) {
    case "partitionStatusChanged":
      if (payload.value.partitionRef?.str !== ref) return undefined;
      return {
        jobRunId: payload.value.jobRunId || event.jobRunId,
        what: payload.value.message,
        status: payload.value.status,
      };
    case "partitionManifest":
      if (!payload.value.outputs.some((o) => o.str === ref)) return undefined;
      return {
        jobRunId: payload.value.jobRunId || event.jobRunId,
        what: `manifest: built by ${payload.value.task?.job?.label ?? "a job"} ${payload.value.jobVersion}`,
        status: PartitionStatus.PARTITION_AVAILABLE,
      };
    case "partitionDelegated":
      if (payload.value.partitionRef?.str !== ref) return undefined;
      return {
        jobRunId: payload.value.delegateJobRunId,
        what: `delegated to build ${shortId(payload.value.delegateBuildRequestId)}`,
      };
    case "partitionsInvalidated":
      if (!payload.value.requested.some((r) => r.str === ref)) return undefined;
      return { jobRunId: "", what: `invalidation asked by ${payload.value.requester}: ${payload.value.reason}` };
    default:
      return undefined;
  }
}

/** Most events one look at the history reads (the rest on request). */
export const HISTORY_SCAN = 250_000;

export interface History {
  readonly items: HistoryItem[];
  readonly read: number;
  /** Where to go on from, when the scan stopped before the log's end. */
  readonly resumeAfter: bigint | undefined;
}

/** Reads the log from `after` to its end (at most HISTORY_SCAN events); calls `onProgress` as it goes. */
export async function partitionHistory(
  ref: string,
  after: bigint,
  signal: AbortSignal,
  onProgress: (read: number) => void,
): Promise<History> {
  const items: HistoryItem[] = [];
  let read = 0;
  const stop = new AbortController();
  signal.addEventListener("abort", () => stop.abort());
  for await (const logged of client.watchEvents({ afterOffset: after, stopAtEnd: true }, { signal: stop.signal })) {
    read++;
    if (read % 2_000 === 0) {
      // A stream's messages arrive as microtasks: without a pause, clicks and paints wait for the whole scan.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (read % 10_000 === 0) onProgress(read);
    }
    if (read >= HISTORY_SCAN) {
      stop.abort();
      return { items, read, resumeAfter: logged.offset };
    }
    const event = logged.event;
    if (!event) continue;
    const found = describe(event, ref);
    if (found)
      items.push({ offset: logged.offset, at: ms(event.timestamp), buildRequestId: event.buildRequestId, ...found });
  }
  onProgress(read);
  return { items, read, resumeAfter: undefined };
}
