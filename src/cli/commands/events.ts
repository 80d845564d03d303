/**
 * @module `databuild events`: the build event log, whole or for one build
 * request or job run, as text or JSON lines; `--follow` keeps printing new
 * events (with `--build`, until that build request has ended).
 */
import { toJsonString } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { BuildEventSchema, type BuildEvent } from "../../gen/databuild_pb.ts";
import { endsBuildRequest } from "../../core/build-request-ended.ts";
import { UsageError } from "../../core/errors.ts";
import type { EventFilter, EventLog, LoggedEvent } from "../../core/event-log.ts";
import { JobRuns } from "../../core/projections/job-runs.ts";
import { loadReadModel, SharedViewModel } from "../../coordination/index.ts";
import type { CommandContext } from "../context.ts";
import { EventDescriber } from "../format/describe-event.ts";
import { shortId } from "../format/short-id.ts";

const PAGE = 5_000;

interface EventsOptions {
  build?: string;
  jobRun?: string;
  follow?: boolean;
  json?: boolean;
}

export function registerEvents(program: Command, context: () => CommandContext): void {
  program
    .command("events")
    .description("print the build event log (every state transition of every build request)")
    .option(
      "--build <id>",
      "only events of this build request (the full id, the short id other commands print, or a unique prefix or suffix)",
    )
    .option(
      "--job-run <id>",
      "only events of this job run (the full id, the short id other commands print, or a unique prefix or suffix)",
    )
    .option(
      "-f, --follow",
      "keep printing new events (with --build: until that build request ends: a final status, or declared lost)",
    )
    .option("--json", "one BuildEvent per line as proto3 JSON")
    .action(async (options: EventsOptions) => {
      const ctx = context();
      if (ctx.server()) return (await import("../remote/reads.ts")).remoteEvents(ctx, options);
      const log = await ctx.openEventLog({ mustExist: true, readOnly: true });
      const filter: EventFilter = {
        buildRequestId:
          options.build === undefined
            ? undefined
            : await resolveBuildId(log, options.build, ctx.shownEventLogLocation()),
        jobRunId:
          options.jobRun === undefined
            ? undefined
            : await resolveJobRunId(log, options.jobRun, ctx.shownEventLogLocation()),
      };
      const describer = new EventDescriber();
      const line = (logged: LoggedEvent) =>
        options.json ? toJsonString(BuildEventSchema, logged.event) + "\n" : formatLine(logged, describer);
      // One write per page or batch, not per event.
      const print = (events: readonly LoggedEvent[]) => {
        if (events.length > 0) ctx.out(events.map(line).join(""));
      };
      try {
        let cursor = 0;
        let ended = false;
        // With --build, following stops once that build request has ended.
        const endsFollowed = (event: BuildEvent) => options.build !== undefined && endsBuildRequest(event);
        /** Prints every matching event after the cursor that the log holds now. */
        const printCommitted = async () => {
          for (;;) {
            const page = await log.read(cursor, filter, PAGE);
            print(page);
            ended ||= page.some((logged) => endsFollowed(logged.event));
            if (page.length > 0) cursor = page[page.length - 1]!.offset;
            if (page.length < PAGE) return;
          }
        };
        await printCommitted();
        if (!options.follow || ended) return;
        // The log's watch timers do not keep the process alive on their own.
        const keepAlive = setInterval(() => {}, 1 << 30);
        let stop = () => {};
        await new Promise<void>((resolve) => {
          let done = false;
          const finish = () => {
            done = true;
            resolve();
          };
          stop = log.watch(
            cursor,
            (events) => {
              if (done) return;
              const fresh = events.filter((logged) => logged.offset > cursor);
              print(fresh);
              if (fresh.length > 0) cursor = fresh[fresh.length - 1]!.offset;
              ended ||= fresh.some((logged) => endsFollowed(logged.event));
              if (ended) finish();
            },
            filter,
          );
          process.once("SIGINT", finish);
        });
        stop();
        clearInterval(keepAlive);
        // What ended it may be the first of several events committed together
        // (a lost declaration: the lost job runs, then the LOST status): print them too.
        if (ended) await printCommitted();
      } finally {
        await log.close();
      }
    });
}

/** The full id of the one build request `part` names (an id, a prefix or a short id). */
async function resolveBuildId(log: EventLog, part: string, where: string): Promise<string> {
  const { builds } = (await loadReadModel(log, () => new SharedViewModel())).model;
  return only(
    builds.matching(part).map((b) => b.buildRequestId),
    "build request",
    part,
    where,
  );
}

async function resolveJobRunId(log: EventLog, part: string, where: string): Promise<string> {
  const { model: runs } = await loadReadModel(log, () => new JobRuns());
  return only(
    runs.matching(part).map((r) => r.jobRunId),
    "job run",
    part,
    where,
  );
}

function only(ids: string[], what: string, part: string, where: string): string {
  if (ids.length === 0) throw new UsageError(`no ${what} with id ${JSON.stringify(part)} in ${where}`);
  if (ids.length > 1)
    throw new UsageError(`${what} id ${JSON.stringify(part)} is ambiguous: ${ids.slice(0, 5).join(", ")}`);
  return ids[0]!;
}

export function formatLine({ offset, event }: LoggedEvent, describer: EventDescriber): string {
  const time = event.timestamp
    ? new Date(Number(event.timestamp.seconds) * 1000 + event.timestamp.nanos / 1e6).toISOString()
    : "?".padEnd(24);
  const ids = `${shortId(event.buildRequestId)}${event.jobRunId ? ` ${shortId(event.jobRunId)}` : ""}`;
  return `${String(offset).padStart(6)} ${time} ${ids.padEnd(17)} ${describer.describe(event)}\n`;
}
