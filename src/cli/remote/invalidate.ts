/**
 * @module `databuild --server URL invalidate REF... [--downstream]`: the
 * service's Invalidate RPC, reported as the local command reports it.
 */
import type { CommandContext } from "../context.ts";
import { invalidationReport } from "../format/invalidation-report.ts";
import { connect } from "./reads.ts";

export async function remoteInvalidate(
  ctx: CommandContext,
  refs: readonly string[],
  options: { downstream?: boolean; reason?: string },
): Promise<void> {
  const service = connect(ctx);
  const response = await service.call("Invalidate", (c) =>
    c.invalidate({
      partitions: refs.map((str) => ({ str })),
      reason: options.reason ?? "",
      downstream: options.downstream ?? false,
    }),
  );
  const outcome = {
    // A service older than `details` answers only `invalidated`.
    invalidated:
      response.details.length > 0
        ? response.details.map((d) => ({ ref: d.partition?.str ?? "", builtFrom: d.builtFrom?.str }))
        : response.invalidated.map((r) => ({ ref: r.str })),
    already: response.alreadyInvalidated.map((r) => r.str),
    notAvailable: response.notAvailable.map((v) => ({ ref: v.partitionRef?.str ?? "", status: v.status })),
  };
  ctx.out(invalidationReport(outcome, response.invalidationId, ctx.commandPrefix()));
}
