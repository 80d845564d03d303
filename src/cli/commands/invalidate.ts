/**
 * @module `databuild invalidate REF... [--downstream] [--reason TEXT]`: marks
 * available partitions invalid, so the next build that needs them rebuilds
 * them (and, through staleness, whatever was built from them). One
 * partitionsInvalidated event and one INVALIDATED status per partition,
 * under a fresh invalidation id, in one atomic append.
 */
import type { Command } from "commander";
import { DatabuildError, UsageError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import {
  decideInvalidation,
  SHARED_VIEW_FILTER,
  SharedView,
  type InvalidationDecision,
} from "../../coordination/index.ts";
import type { CommandContext } from "../context.ts";
import { invalidationReport } from "../format/invalidation-report.ts";
import { shortId } from "../format/short-id.ts";
import { requester } from "../requester.ts";

/** A partition to invalidate is held by a live build: what it means then is ambiguous (exit 1). */
export class PartitionBusyError extends DatabuildError {
  readonly code = "PARTITION_BUSY";
  readonly kind = "failure";
}

export function registerInvalidate(program: Command, context: () => CommandContext): void {
  program
    .command("invalidate")
    .description("mark available partitions invalid: the next build that needs them rebuilds them")
    .argument("<refs...>", "partition refs (each must have been built)")
    .option("--downstream", "also invalidate every available partition built from them, transitively")
    .option("--reason <text>", "why, recorded in the log (shown by explain and events)")
    .action(async (refArgs: string[], options: { downstream?: boolean; reason?: string }) => {
      const ctx = context();
      const refs = [...new Set(ctx.refs(refArgs))];
      if (ctx.server()) return (await import("../remote/invalidate.ts")).remoteInvalidate(ctx, refs, options);
      const log = await ctx.openEventLog({ mustExist: true });
      try {
        const view = new SharedView();
        await view.load(log);
        const id = newId();
        const request = {
          refs,
          downstream: options.downstream ?? false,
          reason: options.reason ?? "",
          requester: requester(),
          id,
        };
        // Decided inside the append: no build can claim a partition between the check and the write.
        const { result: decision } = await log.appendAtomically(view.cursor, SHARED_VIEW_FILTER, (events) => {
          view.apply(events);
          const decided = decideInvalidation(view, request);
          return { append: decided.events, result: decided };
        });
        refuseIfWrong(decision, ctx, ctx.commandPrefix());
        ctx.out(invalidationReport(decision, id, ctx.commandPrefix()));
      } finally {
        await log.close();
      }
    });
}

function refuseIfWrong(decision: InvalidationDecision, ctx: CommandContext, command: string): void {
  if (decision.neverBuilt.length > 0) {
    const n = decision.neverBuilt.length;
    throw new UsageError(
      `cannot invalidate ${decision.neverBuilt.join(", ")}: never built (no manifest for ${n === 1 ? "it" : "them"} in ${ctx.shownEventLogLocation()}); nothing was invalidated`,
    );
  }
  if (decision.busy.length > 0) {
    const now = Date.now();
    const lines = decision.busy.map(({ ref, holder }) => {
      const silent = now - holder.lastSeenMs;
      const gone =
        silent > holder.heartbeatTimeoutMs
          ? `; it has sent no heartbeat for ${Math.round(silent / 1000)} s: the next build will take it over`
          : "";
      return `  ${ref}: held by build request ${shortId(holder.buildRequestId)} (pid ${holder.pid} on ${holder.hostname})${gone}`;
    });
    throw new PartitionBusyError(
      `cannot invalidate while a build is producing ${decision.busy.length === 1 ? "it" : "them"}; nothing was invalidated:\n` +
        lines.join("\n") +
        `\nwait for that build request to end (${command} events --follow --build ${shortId(decision.busy[0]!.holder.buildRequestId)}), then invalidate again`,
    );
  }
}
