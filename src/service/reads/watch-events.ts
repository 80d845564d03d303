/**
 * @module WatchEvents: `databuild events` as a server stream. Events after
 * `after_offset`, narrowed to a build request or a job run, each with its
 * offset (a client that reconnects resumes after the last offset it saw).
 * It reads the log a page at a time and only as fast as the client takes
 * messages, so a slow client costs one page of memory; it follows the log
 * until the build request ends (with `build_request_id`), the log's end
 * (`stop_at_end`), or the client goes away.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { LoggedBuildEventSchema, WatchEventsRequest } from "../../gen/databuild_pb.ts";
import type { EventFilter, EventLog } from "../../core/event-log.ts";
import { nextEvents } from "./follow.ts";
import type { LiveLog } from "./live-log.ts";
import { resolveBuildRequest, resolveJobRun } from "./build-request-reads.ts";

export const WATCH_PAGE = 1_000;

export async function* watchEvents(
  log: EventLog,
  live: LiveLog,
  request: WatchEventsRequest,
  context: HandlerContext,
): AsyncIterable<MessageInitShape<typeof LoggedBuildEventSchema>> {
  const buildRequestId = request.buildRequestId
    ? resolveBuildRequest(live, request.buildRequestId).buildRequestId
    : undefined;
  const jobRunId = request.jobRunId ? resolveJobRun(live, request.jobRunId).jobRunId : undefined;
  const filter: EventFilter = { buildRequestId, jobRunId };
  const { signal } = context;
  let cursor = Number(request.afterOffset);
  for (;;) {
    // Ended before this pass: the pass below sees all it logged (offsets are in commit order).
    const ended = buildRequestId !== undefined && live.builds.ended(buildRequestId);
    // What the live log has seen before this pass: wake on anything after it.
    const seen = live.cursor;
    for (;;) {
      const page = await log.read(cursor, filter, WATCH_PAGE);
      for (const { offset, event } of page) {
        if (signal.aborted) return endOfStream(signal);
        yield { offset: BigInt(offset), event };
      }
      if (page.length > 0) cursor = page[page.length - 1]!.offset;
      if (page.length < WATCH_PAGE) break;
    }
    if (ended || request.stopAtEnd || signal.aborted) return endOfStream(signal);
    await nextEvents(live, Math.max(seen, cursor), signal);
    if (signal.aborted) return endOfStream(signal);
  }
}

/** A stream cut short by the replica's shutdown ends with its `unavailable`, so the client knows to resume. */
function endOfStream(signal: AbortSignal): void {
  if (signal.aborted && signal.reason instanceof ConnectError && signal.reason.code === Code.Unavailable)
    throw signal.reason;
}
