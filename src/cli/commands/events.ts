/**
 * @module `databuild events`: the build event log, whole or for one build or
 * job run, as text or JSON lines; `--follow` keeps printing new events.
 */
import { toJsonString } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { BuildEventSchema, BuildRequestStatus, type BuildEvent } from "../../gen/databuild_pb.ts";
import { UsageError } from "../../core/errors.ts";
import type { EventFilter, EventLog, LoggedEvent } from "../../core/event-log.ts";
import { BuildRequests } from "../../core/projections/build-requests.ts";
import { JobRuns } from "../../core/projections/job-runs.ts";
import { loadReadModel } from "../../executor/read-model-loader.ts";
import type { CommandContext } from "../context.ts";
import { describeEvent } from "../format/describe-event.ts";
import { shortId } from "../format/short-id.ts";

const PAGE = 5_000;
const FINAL_STATUSES = new Set([
  BuildRequestStatus.BUILD_REQUEST_COMPLETED,
  BuildRequestStatus.BUILD_REQUEST_FAILED,
  BuildRequestStatus.BUILD_REQUEST_CANCELLED,
]);

interface EventsOptions {
  build?: string;
  jobRun?: string;
  follow?: boolean;
  json?: boolean;
}

export function registerEvents(program: Command, context: () => CommandContext): void {
  program
    .command("events")
    .description("print the build event log (every state transition of every build)")
    .option(
      "--build <id>",
      "only events of this build request (the full id, the short id other commands print, or a unique prefix or suffix)",
    )
    .option(
      "--job-run <id>",
      "only events of this job run (the full id, the short id other commands print, or a unique prefix or suffix)",
    )
    .option("-f, --follow", "keep printing new events (with --build: until that build ends)")
    .option("--json", "one BuildEvent per line as proto3 JSON")
    .action(async (options: EventsOptions) => {
      const ctx = context();
      const log = await ctx.openEventLog({ mustExist: true, readOnly: true });
      const filter: EventFilter = {
        buildRequestId:
          options.build === undefined ? undefined : await resolveBuildId(log, options.build, ctx.eventLogLocation()),
        jobRunId:
          options.jobRun === undefined ? undefined : await resolveJobRunId(log, options.jobRun, ctx.eventLogLocation()),
      };
      const print = (logged: LoggedEvent) =>
        ctx.out(options.json ? toJsonString(BuildEventSchema, logged.event) + "\n" : formatLine(logged));
      try {
        let cursor = 0;
        let ended = false;
        for (;;) {
          const page = await log.read(cursor, filter, PAGE);
          for (const logged of page) {
            print(logged);
            ended ||= endsBuild(logged.event, options.build);
          }
          if (page.length > 0) cursor = page[page.length - 1]!.offset;
          if (page.length < PAGE) break;
        }
        if (!options.follow || ended) return;
        // The log's watch timers do not keep the process alive on their own.
        const keepAlive = setInterval(() => {}, 1 << 30);
        await new Promise<void>((resolve) => {
          const stop = log.watch(
            cursor,
            (events) => {
              for (const logged of events) {
                print(logged);
                if (endsBuild(logged.event, options.build)) {
                  stop();
                  resolve();
                  return;
                }
              }
            },
            filter,
          );
          process.once("SIGINT", () => {
            stop();
            resolve();
          });
        });
        clearInterval(keepAlive);
      } finally {
        await log.close();
      }
    });
}

/** The full id of the one build request `part` names (an id, a prefix or a short id). */
async function resolveBuildId(log: EventLog, part: string, where: string): Promise<string> {
  const { model: builds } = await loadReadModel(log, () => new BuildRequests());
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

/** The build request ended: a final status, or another build request declared it lost. */
function endsBuild(event: BuildEvent, build: string | undefined): boolean {
  return (
    build !== undefined &&
    (event.event.case === "buildRequestLost" ||
      (event.event.case === "buildRequestStatusChanged" && FINAL_STATUSES.has(event.event.value.status)))
  );
}

function formatLine({ offset, event }: LoggedEvent): string {
  const time = event.timestamp
    ? new Date(Number(event.timestamp.seconds) * 1000 + event.timestamp.nanos / 1e6).toISOString()
    : "?".padEnd(24);
  const ids = `${shortId(event.buildRequestId)}${event.jobRunId ? ` ${shortId(event.jobRunId)}` : ""}`;
  return `${String(offset).padStart(6)} ${time} ${ids.padEnd(17)} ${describeEvent(event)}\n`;
}
