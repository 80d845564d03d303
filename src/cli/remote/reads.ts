/**
 * @module The reading commands with `--server`: the same output as when they
 * read the log themselves, from the service's read RPCs.
 */
import { toJsonString } from "@bufbuild/protobuf";
import {
  BuildEventSchema,
  BuildRequestViewSchema,
  LogStream,
  PartitionExplanationSchema,
  PartitionStatusViewSchema,
  type BuildRequestView,
  type JobRunView,
  type LoggedBuildEvent,
} from "../../gen/databuild_pb.ts";
import { endsBuildRequest } from "../../core/build-request-ended.ts";
import { describeTruncation, entryText } from "../../core/log-entries.ts";
import { explainedOf } from "../../coordination/index.ts";
import type { CommandContext } from "../context.ts";
import { EventDescriber } from "../format/describe-event.ts";
import { explanationSummary, formatExplanation, formatStatusAnswer } from "../format/explanation.ts";
import { formatBuild } from "../commands/builds.ts";
import { formatLine } from "../commands/events.ts";
import { remoteService, type RemoteService } from "./client.ts";
import { resumingWatch } from "./resuming-watch.ts";
import { jobRunHeader } from "../format/job-run-header.ts";

export function connect(ctx: CommandContext): RemoteService {
  const server = ctx.server()!;
  return remoteService(server.url, server.token);
}

export async function remoteStatus(
  ctx: CommandContext,
  refs: readonly string[],
  options: { json?: boolean; all?: boolean },
) {
  const service = connect(ctx);
  const partitions = refs.map((str) => ({ str }));
  if (options.json) {
    const { partitions: views } = await service.call("GetPartitions", (c) => c.getPartitions({ partitions }));
    ctx.out(views.map((v) => toJsonString(PartitionStatusViewSchema, v) + "\n").join(""));
    return;
  }
  // The state and the facts behind it are what ExplainPartition answers (status shows them without the plan).
  const now = Date.now();
  const prefix = ctx.commandPrefix();
  for (const [i, partition] of partitions.entries()) {
    const explanation = await service.call("ExplainPartition", (c) => c.explainPartition({ partition }));
    const answer = explainedOf(explanation);
    explanation.summary ||= explanationSummary(answer, now);
    ctx.out((i > 0 ? "\n" : "") + formatStatusAnswer(answer, now, prefix, { all: options.all }));
  }
}

export async function remoteExplain(
  ctx: CommandContext,
  refs: readonly string[],
  options: { json?: boolean; all?: boolean },
) {
  const service = connect(ctx);
  const now = Date.now();
  const prefix = ctx.commandPrefix();
  for (const [i, str] of refs.entries()) {
    const explanation = await service.call("ExplainPartition", (c) => c.explainPartition({ partition: { str } }));
    const answer = explainedOf(explanation);
    explanation.summary ||= explanationSummary(answer, now);
    if (options.json) ctx.out(toJsonString(PartitionExplanationSchema, explanation) + "\n");
    else ctx.out((i > 0 ? "\n" : "") + formatExplanation(answer, now, prefix, { all: options.all }));
  }
}

export interface RemoteEventsOptions {
  build?: string;
  jobRun?: string;
  follow?: boolean;
  json?: boolean;
}

export async function remoteEvents(ctx: CommandContext, options: RemoteEventsOptions): Promise<void> {
  const service = connect(ctx);
  const describer = new EventDescriber();
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  process.once("SIGINT", onInterrupt);
  // Batched writes: one per burst of messages, not one per event.
  let pending: string[] = [];
  const flush = () => {
    if (pending.length > 0) ctx.out(pending.join(""));
    pending = [];
  };
  try {
    let buildEnded = false;
    const request = { buildRequestId: options.build ?? "", jobRunId: options.jobRun ?? "", stopAtEnd: !options.follow };
    // Following, it resumes across a replica restart; it is done at the log's end, or when the build request ended.
    const stream = resumingWatch(service, request, {
      signal: stop.signal,
      note: (message) => {
        flush();
        ctx.io.stderr.write(`databuild: ${message}\n`);
      },
      complete: () => !options.follow || (options.build !== undefined && buildEnded),
    });
    let since = Date.now();
    for await (const logged of stream) {
      if (options.build !== undefined && logged.event && endsBuildRequest(logged.event)) buildEnded = true;
      pending.push(line(logged, options.json ?? false, describer));
      if (pending.length >= 1000 || Date.now() - since > 100) {
        flush();
        since = Date.now();
      }
    }
  } catch (error) {
    // Ctrl-C while following: the output so far is the answer.
    if (!stop.signal.aborted) throw error;
  } finally {
    flush();
    process.off("SIGINT", onInterrupt);
  }
}

function line(logged: LoggedBuildEvent, json: boolean, describer: EventDescriber): string {
  const event = logged.event!;
  return json
    ? toJsonString(BuildEventSchema, event) + "\n"
    : formatLine({ offset: Number(logged.offset), event }, describer);
}

export async function remoteBuilds(ctx: CommandContext, options: { json?: boolean }): Promise<void> {
  const service = connect(ctx);
  const newestFirst: BuildRequestView[] = [];
  let pageToken = "";
  do {
    const page = await service.call("ListBuildRequests", (c) => c.listBuildRequests({ pageSize: 1000, pageToken }));
    newestFirst.push(...page.buildRequests);
    pageToken = page.nextPageToken;
  } while (pageToken);
  // `builds` lists oldest first.
  const text = newestFirst
    .reverse()
    .map((view) => (options.json ? toJsonString(BuildRequestViewSchema, view) + "\n" : formatBuild(view)));
  ctx.out(text.join(""));
}

export async function remoteLogs(
  ctx: CommandContext,
  id: string,
  wanted: LogStream | undefined,
  json: boolean,
): Promise<void> {
  const service = connect(ctx);
  let run: JobRunView = await service.call("GetJobRun", (c) => c.getJobRun({ jobRunId: id }));
  ctx.io.stderr.write(jobRunHeader(run));
  let limitReached = false;
  if (json) {
    // The LogEntry events themselves, envelope and all, as `logs --json` prints them.
    const stream = service.stream("WatchEvents", (c) => c.watchEvents({ jobRunId: run.jobRunId, stopAtEnd: true }));
    const text: string[] = [];
    for await (const { event } of stream) {
      if (event?.event.case !== "logEntry") continue;
      limitReached ||= event.event.value.truncated === true;
      if (wanted === undefined || event.event.value.stream === wanted)
        text.push(toJsonString(BuildEventSchema, event) + "\n");
      if (text.length >= 512) ctx.out(text.splice(0).join(""));
    }
    ctx.out(text.join(""));
  } else {
    for await (const message of service.stream("GetJobRunLogs", (c) => c.getJobRunLogs({ jobRunId: run.jobRunId }))) {
      const text: string[] = [];
      for (const entry of message.entries) {
        limitReached ||= entry.truncated === true;
        if (wanted === undefined || entry.stream === wanted) text.push(entryText(entry));
      }
      if (text.length > 0) ctx.out(text.join(""));
      if (message.jobRun) run = message.jobRun;
    }
  }
  if (run.logTruncation) {
    ctx.io.stderr.write(`job run ${run.jobRunId}: output truncated: ${describeTruncation(run.logTruncation)}\n`);
  } else if (limitReached) {
    ctx.io.stderr.write(
      `job run ${run.jobRunId}: output truncated: it reached the log limit; what it prints from there is not recorded\n`,
    );
  }
}
