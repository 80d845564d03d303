/**
 * @module GetJobRunLogs: what a job run printed (`databuild logs`), a page of
 * entries per message, each message with the job run as it stands; with
 * `follow`, until the run ends. `after_sequence` resumes after the last line
 * a client saw (an entry holding lines on both sides of it is cut there).
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import {
  JobRunStatus,
  LogEntrySchema,
  type GetJobRunLogsRequest,
  type GetJobRunLogsResponseSchema,
  type LogEntry,
} from "../../gen/databuild_pb.ts";
import type { EventLog } from "../../core/event-log.ts";
import { entryLineCount } from "../../core/log-entries.ts";
import { nextEvents } from "./follow.ts";
import type { LiveLog } from "./live-log.ts";
import { resolveJobRun } from "./build-request-reads.ts";

/** Entries read (and sent) at once: batched entries hold up to 64 KiB of lines each. */
export const LOG_PAGE = 256;

export async function* jobRunLogs(
  log: EventLog,
  live: LiveLog,
  request: GetJobRunLogsRequest,
  context: HandlerContext,
): AsyncIterable<MessageInitShape<typeof GetJobRunLogsResponseSchema>> {
  const run = resolveJobRun(live, request.jobRunId);
  const { signal } = context;
  let cursor = 0;
  let sent = false;
  for (;;) {
    const ended = runEnded(live, run.jobRunId);
    const seen = live.cursor;
    for (;;) {
      const page = await log.read(cursor, { jobRunId: run.jobRunId, kinds: ["logEntry"] }, LOG_PAGE);
      if (page.length > 0) cursor = page[page.length - 1]!.offset;
      const entries: LogEntry[] = [];
      for (const { event } of page) {
        if (event.event.case !== "logEntry") continue;
        const entry = after(event.event.value, request.afterSequence);
        if (entry) entries.push(entry);
      }
      if (signal.aborted) return;
      if (entries.length > 0 || !sent) {
        sent = true;
        yield { entries, jobRun: live.jobRuns.get(run.jobRunId) ?? run };
      }
      if (page.length < LOG_PAGE) break;
    }
    if (!request.follow || ended || signal.aborted) return;
    await nextEvents(live, Math.max(seen, cursor), signal);
    if (signal.aborted) return;
  }
}

function runEnded(live: LiveLog, jobRunId: string): boolean {
  const run = live.jobRuns.get(jobRunId);
  const status = run?.status;
  // A run of a build request that ended (declared lost, say) gets no more lines either.
  return (
    status === JobRunStatus.JOB_RUN_SUCCEEDED ||
    status === JobRunStatus.JOB_RUN_FAILED ||
    (run !== undefined && live.builds.ended(run.buildRequestId))
  );
}

/** The part of `entry` after line `sequence` (undefined: none of it). */
function after(entry: LogEntry, sequence: bigint): LogEntry | undefined {
  if (sequence === 0n) return entry;
  const lines = entryLineCount(entry);
  // A truncation marker holds no line: it comes after whatever preceded it.
  if (lines === 0) return entry.sequence > sequence ? entry : undefined;
  const last = entry.sequence + BigInt(lines) - 1n;
  if (last <= sequence) return undefined;
  if (entry.sequence > sequence) return entry;
  const skip = Number(sequence - entry.sequence + 1n);
  return create(LogEntrySchema, {
    ...entry,
    sequence: sequence + 1n,
    line: entry.line.split("\n").slice(skip).join("\n"),
  });
}
