/**
 * @module `databuild explain REF...`: why a partition is in the state it is
 * (available, stale, building, failed, invalidated, ...), from the log, and
 * what a build of it would run now, from a dry-run plan.
 */
import { toJsonString } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { PartitionExplanationSchema } from "../../gen/databuild_pb.ts";
import { isDatabuildError } from "../../core/errors.ts";
import type { EventLog } from "../../core/event-log.ts";
import { explainPartitions, LogFacts, type GraphOrError } from "../../coordination/index.ts";
import { MemoryEventLog } from "../../event-log/index.ts";
import type { CommandContext } from "../context.ts";
import { configLimitsOf, configMaxOutputOption, configTimeoutOption, type ConfigLimitFlags } from "../options.ts";
import { planInterruptibly } from "./analyze.ts";
import { explanationSummary, formatExplanation } from "../format/explanation.ts";

export function registerExplain(program: Command, context: () => CommandContext): void {
  program
    .command("explain")
    .description(
      "explain each partition's state (who built it, why it is stale, building or failed) and what a build would run",
    )
    .argument("<refs...>", "partition refs")
    .option("--json", "one PartitionExplanation per line as proto3 JSON")
    .option(
      "--all",
      "list every input of a fan-in and every task a build would run (by default the first ones and a count)",
    )
    .addOption(configTimeoutOption())
    .addOption(configMaxOutputOption())
    .action(
      async (refArgs: string[], options: { json?: boolean; all?: boolean } & ConfigLimitFlags, command: Command) => {
        const ctx = context();
        const refs = ctx.refs(refArgs);
        if (ctx.server()) return (await import("../remote/reads.ts")).remoteExplain(ctx, refs, options);
        const graph = await loadGraphOrError(ctx);
        const log = await openLog(ctx, command.optsWithGlobals<{ db?: string }>().db !== undefined);
        try {
          const now = Date.now();
          const facts = await LogFacts.load(log, ctx.note);
          const answers = await planInterruptibly(ctx, (signal) =>
            explainPartitions(facts, graph, refs, now, { signal, configLimits: configLimitsOf(options) }),
          );
          const prefix = ctx.commandPrefix();
          answers.forEach((answer, i) => {
            answer.explanation.summary = explanationSummary(answer, now);
            if (options.json) ctx.out(toJsonString(PartitionExplanationSchema, answer.explanation) + "\n");
            else ctx.out((i > 0 ? "\n" : "") + formatExplanation(answer, now, prefix, { all: options.all }));
          });
        } finally {
          await log.close();
        }
      },
    );
}

/** The graph is only needed to plan (and for versions): without it the log still explains the state. */
async function loadGraphOrError(ctx: CommandContext): Promise<GraphOrError> {
  try {
    return { graph: await ctx.loadGraph() };
  } catch (error) {
    if (!isDatabuildError(error)) throw error;
    return { error: error.message };
  }
}

/**
 * The log beside the graph, or an empty one if nothing was built there yet
 * (every ref is then never requested). A log named by --db or $DATABUILD_DB
 * must exist: a typo there is an error, not an empty answer.
 */
async function openLog(ctx: CommandContext, dbFlag: boolean): Promise<EventLog> {
  const location = ctx.eventLogLocation();
  if (!dbFlag && !ctx.io.env.DATABUILD_DB && !existsSync(location)) {
    ctx.io.stderr.write(`(no build event log at ${location} yet: nothing has been built with this graph)\n`);
    return new MemoryEventLog();
  }
  return ctx.openEventLog({ mustExist: true, readOnly: true });
}
