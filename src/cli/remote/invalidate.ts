/**
 * @module `databuild --server URL invalidate REF...`: the service's
 * Invalidate RPC, reported like the local command. The response names
 * neither the invalidation id nor what each partition was built from, so
 * those parts of the local report are left out.
 */
import { UsageError } from "../../core/errors.ts";
import type { CommandContext } from "../context.ts";
import { connect } from "./reads.ts";

export async function remoteInvalidate(
  ctx: CommandContext,
  refs: readonly string[],
  options: { downstream?: boolean; reason?: string },
): Promise<void> {
  if (options.downstream)
    throw new UsageError(
      "--downstream cannot be used with --server: the service's Invalidate takes no such option yet",
    );
  const service = connect(ctx);
  const response = await service.call("Invalidate", (c) =>
    c.invalidate({ partitions: refs.map((str) => ({ str })), reason: options.reason ?? "" }),
  );
  const invalidated = response.invalidated.map((r) => r.str);
  const n = invalidated.length;
  const lines: string[] = [];
  if (n > 0) {
    lines.push(`invalidated ${n} partition${n === 1 ? "" : "s"}:`);
    for (const ref of invalidated) lines.push(`  ${ref}`);
  } else lines.push("nothing to invalidate");
  lines.push(...response.skipped);
  if (n > 0) lines.push(`to rebuild: ${ctx.commandPrefix()} build ${invalidated.join(" ")}`);
  ctx.out(lines.join("\n") + "\n");
}
