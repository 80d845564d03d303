/**
 * @module `databuild builds`: the build requests in the log, oldest first.
 */
import { toJsonString } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { BuildRequestStatus, BuildRequestViewSchema, type BuildRequestView } from "../../gen/databuild_pb.ts";
import { loadReadModel, SharedViewModel, whyLost } from "../../coordination/index.ts";
import type { CommandContext } from "../context.ts";
import { formatDuration } from "../progress/build-progress.ts";

export function registerBuilds(program: Command, context: () => CommandContext): void {
  program
    .command("builds")
    .description("list build requests: when, what was asked, how it went")
    .option("--json", "one BuildRequestView per line as proto3 JSON")
    .action(async (options: { json?: boolean }) => {
      const ctx = context();
      if (ctx.server()) return (await import("../remote/reads.ts")).remoteBuilds(ctx, options);
      const log = await ctx.openEventLog({ mustExist: true, readOnly: true });
      try {
        const { claims, builds } = (await loadReadModel(log, () => new SharedViewModel(), { note: ctx.note })).model;
        const now = Date.now();
        for (const view of builds.all()) {
          if (options.json) {
            ctx.out(toJsonString(BuildRequestViewSchema, view) + "\n");
            continue;
          }
          // A build that died is only recorded lost by the next build that meets its claims; say so meanwhile.
          const lease = claims.lease(view.buildRequestId);
          const gone = lease && whyLost(claims, lease, now);
          ctx.out(
            formatBuild(view) + (gone ? `    probably lost: ${gone}; the next build will take its work over\n` : ""),
          );
        }
      } finally {
        await log.close();
      }
    });
}

export function formatBuild(view: BuildRequestView): string {
  const status = BuildRequestStatus[view.status].replace("BUILD_REQUEST_", "").toLowerCase();
  const started = view.receivedAt ? timestampDate(view.receivedAt) : undefined;
  const took =
    started && view.updatedAt ? formatDuration(timestampDate(view.updatedAt).getTime() - started.getTime()) : "?";
  const asked = view.requestedPartitions.map((r) => r.str);
  const what = asked.length > 2 ? `${asked.slice(0, 2).join(" ")} (+${asked.length - 2} more)` : asked.join(" ");
  return (
    `${view.buildRequestId}  ${started?.toISOString() ?? "?"}  ${status.padEnd(9)} ${took.padStart(7)}  ` +
    `${view.jobsSucceeded} built, ${view.jobsFailed} failed, ${view.partitionsDelegated} delegated or skipped  ${what}\n`
  );
}
