/**
 * @module `databuild status REF...`: each partition's status from the log,
 * which build and job produced it, when, and its manifest.
 */
import { create, toJsonString } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import {
  PartitionStatus,
  PartitionStatusViewSchema,
  DepType,
  type PartitionStatusView,
} from "../../gen/databuild_pb.ts";
import { PartitionCatalog } from "../../core/projections/partition-catalog.ts";
import { Staleness } from "../../core/staleness.ts";
import { currentJob } from "../../executor/claim-plan.ts";
import { loadReadModel } from "../../executor/read-model-loader.ts";
import { SharedViewModel } from "../../executor/shared-view.ts";
import type { CommandContext } from "../context.ts";
import { formatDuration } from "../progress/build-progress.ts";
import { shortId } from "../format/short-id.ts";

export function registerStatus(program: Command, context: () => CommandContext): void {
  program
    .command("status")
    .description("show each partition's status: who built it, when, from which inputs")
    .argument("<refs...>", "partition refs")
    .option("--json", "one PartitionStatusView per line as proto3 JSON")
    .action(async (refArgs: string[], options: { json?: boolean }) => {
      const ctx = context();
      const refs = ctx.refs(refArgs);
      const log = await ctx.openEventLog({ mustExist: true, readOnly: true });
      try {
        // The catalog is snapshotted inside the shared view.
        const { catalog } = (await loadReadModel(log, () => new SharedViewModel(), { note: ctx.note })).model;
        const staleness = await stalenessFor(ctx, catalog);
        for (const ref of refs) {
          const view = catalog.get(ref) ?? create(PartitionStatusViewSchema, { partitionRef: { str: ref } });
          if (options.json) {
            ctx.out(toJsonString(PartitionStatusViewSchema, view) + "\n");
            continue;
          }
          ctx.out(formatStatus(view));
          const stale = staleness?.reasons(ref) ?? [];
          if (stale.length > 0)
            ctx.out(
              `  STALE: ${stale[0]!.message}${stale.length > 1 ? ` (and ${stale.length - 1} more)` : ""}; a build would rebuild it (see: databuild explain ${ref})\n`,
            );
        }
      } finally {
        await log.close();
      }
    });
}

/** Staleness needs the graph (job versions now); without one, status shows the log alone. */
async function stalenessFor(ctx: CommandContext, catalog: PartitionCatalog): Promise<Staleness | undefined> {
  try {
    const graph = await ctx.loadGraph();
    return new Staleness(catalog, (ref) => currentJob(graph, ref));
  } catch {
    return undefined;
  }
}

function formatStatus(view: PartitionStatusView): string {
  const ref = view.partitionRef!.str;
  if (view.status === PartitionStatus.PARTITION_STATUS_UNSPECIFIED)
    return `${ref}  never built (no event mentions it)\n`;
  const status = PartitionStatus[view.status].replace("PARTITION_", "");
  const when = view.updatedAt ? timestampDate(view.updatedAt).toISOString() : "?";
  const lines = [`${ref}  ${status}${view.message ? `: ${view.message}` : ""}`];
  lines.push(
    `  since ${when}, build request ${view.buildRequestId}${view.jobRunId ? `, job run ${view.jobRunId}` : ""}${view.jobLabel ? ` (job ${view.jobLabel})` : ""}`,
  );
  const m = view.manifest;
  if (m) {
    const took =
      m.startTime && m.endTime
        ? formatDuration(timestampDate(m.endTime).getTime() - timestampDate(m.startTime).getTime())
        : "?";
    const label = view.status === PartitionStatus.PARTITION_AVAILABLE ? "manifest" : "last successful build";
    lines.push(
      `  ${label}: job ${m.task?.job?.label} v${m.jobVersion}, run ${m.jobRunId}, finished ${m.endTime ? timestampDate(m.endTime).toISOString() : "?"} (took ${took})`,
    );
    for (const input of m.inputs) {
      const kind = input.depType === DepType.QUERY ? "query" : "input";
      lines.push(
        `    ${kind} ${input.partitionRef?.str}${input.jobRunId ? ` from run ${shortId(input.jobRunId)}` : " (absent or external)"}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}
