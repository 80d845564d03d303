/**
 * @module `databuild events`: the build event log, whole or for one build or
 * job run, as text or JSON lines; `--follow` keeps printing new events.
 */
import { toJsonString } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { BuildEventSchema, BuildRequestStatus, type BuildEvent } from "../../gen/databuild_pb.ts";
import type { EventFilter, LoggedEvent } from "../../core/event-log.ts";
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
    .option("--build <id>", "only events of this build request")
    .option("--job-run <id>", "only events of this job run")
    .option("-f, --follow", "keep printing new events (with --build: until that build ends)")
    .option("--json", "one BuildEvent per line as proto3 JSON")
    .action(async (options: EventsOptions) => {
      const ctx = context();
      const log = await ctx.openEventLog({ mustExist: true });
      const filter: EventFilter = { buildRequestId: options.build, jobRunId: options.jobRun };
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

function endsBuild(event: BuildEvent, build: string | undefined): boolean {
  return (
    build !== undefined &&
    event.event.case === "buildRequestStatusChanged" &&
    FINAL_STATUSES.has(event.event.value.status)
  );
}

function formatLine({ offset, event }: LoggedEvent): string {
  const time = event.timestamp
    ? new Date(Number(event.timestamp.seconds) * 1000 + event.timestamp.nanos / 1e6).toISOString().slice(11, 23)
    : "?";
  const ids = `${shortId(event.buildRequestId)}${event.jobRunId ? ` ${shortId(event.jobRunId)}` : ""}`;
  return `${String(offset).padStart(6)} ${time} ${ids.padEnd(17)} ${describeEvent(event)}\n`;
}
