/**
 * @module `databuild status REF...`: each partition's state, from the same
 * read of the log as `databuild explain` (so the two never disagree): who
 * built it, when, from which inputs, or who builds it, or why it failed or is
 * stale. Without planning: explain adds what a build would run.
 */
import { toJsonString } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { PartitionStatusViewSchema } from "../../gen/databuild_pb.ts";
import { partitionStatusView } from "../../core/projections/partition-catalog.ts";
import { explainStates, LogFacts } from "../../coordination/index.ts";
import type { CommandContext } from "../context.ts";
import { explanationSummary, formatStatusAnswer } from "../format/explanation.ts";

export function registerStatus(program: Command, context: () => CommandContext): void {
  program
    .command("status")
    .description("show each partition's state: who built it, when, from which inputs; or who builds it, or why not")
    .argument("<refs...>", "partition refs")
    .option("--json", "one PartitionStatusView per line as proto3 JSON")
    .option("--all", "list every input of a fan-in (by default the first ones and a count)")
    .action(async (refArgs: string[], options: { json?: boolean; all?: boolean }) => {
      const ctx = context();
      const refs = ctx.refs(refArgs);
      if (ctx.server()) return (await import("../remote/reads.ts")).remoteStatus(ctx, refs, options);
      const log = await ctx.openEventLog({ mustExist: true, readOnly: true });
      try {
        const facts = await LogFacts.load(log, ctx.note);
        // The graph is only needed for staleness (job versions now); without one, status shows the log alone.
        const graph = await ctx.loadGraph().catch(() => undefined);
        const now = Date.now();
        const answers = await explainStates(facts, graph, refs, now);
        const prefix = ctx.commandPrefix();
        answers.forEach((answer, i) => {
          const ref = answer.explanation.partitionRef!.str;
          if (options.json) {
            const view = answer.explanation.status ?? partitionStatusView(ref, undefined);
            ctx.out(toJsonString(PartitionStatusViewSchema, view) + "\n");
            return;
          }
          answer.explanation.summary = explanationSummary(answer, now);
          ctx.out((i > 0 ? "\n" : "") + formatStatusAnswer(answer, now, prefix, { all: options.all }));
        });
      } finally {
        await log.close();
      }
    });
}
