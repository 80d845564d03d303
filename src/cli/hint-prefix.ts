/**
 * @module The start of hint commands ("databuild --graph x.yaml ..."), also
 * for commands that run from --db alone, where no graph file can be named.
 */
import type { Command } from "commander";
import type { CommandContext } from "./context.ts";

export function hintPrefix(ctx: CommandContext, command: Command): string {
  try {
    return ctx.commandPrefix();
  } catch {
    const db = command.optsWithGlobals<{ db?: string }>().db;
    return db === undefined ? "databuild" : `databuild --db ${db}`;
  }
}
