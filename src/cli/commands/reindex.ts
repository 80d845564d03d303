/**
 * @module `databuild reindex`: throws away every read-model snapshot and
 * rebuilds each read model from the whole event log (SPEC 3.6: a read model
 * is a cache that can always be rebuilt). The answers of every command are
 * the same before and after; only the time to read them changes.
 */
import type { Command } from "commander";
import { reindex } from "../../coordination/index.ts";
import type { CommandContext } from "../context.ts";

export function registerReindex(program: Command, context: () => CommandContext): void {
  program
    .command("reindex")
    .description("rebuild every read model (status, explain, builds, ...) from the whole event log")
    .addHelpText(
      "after",
      "\nRead models are caches derived from the log: snapshots beside the events that commands load\n" +
        "with the events after them. reindex deletes them all and replays the log; safe at any time,\n" +
        "also while builds run (they write new snapshots as they go).",
    )
    .action(async () => {
      const ctx = context();
      const log = await ctx.openEventLog({ mustExist: true });
      try {
        const started = performance.now();
        await reindex(log, (m) =>
          ctx.io.stderr.write(
            `${m.name} (version ${m.version}): ${m.events.toLocaleString("en-US")} events, up to offset ${m.offset} (${m.ms} ms)\n`,
          ),
        );
        ctx.io.stderr.write(
          `reindexed ${ctx.shownEventLogLocation()} in ${Math.round(performance.now() - started)} ms\n`,
        );
      } finally {
        await log.close();
      }
    });
}
