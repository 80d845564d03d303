/**
 * @module `databuild triggers [--json]`: the graph's schedules and sensors
 * with what the log knows of them (paused, last tick and its build request)
 * and each schedule's next tick; `databuild triggers pause NAME` and
 * `resume NAME` record TriggerPaused / TriggerResumed (by user@host).
 */
import { toJsonString } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { TriggerOutcome, TriggerViewSchema, type TriggerView } from "../../gen/databuild_pb.ts";
import { loadTriggerBook, outcomeWord, setTriggerPaused, triggerViews } from "../../triggers/index.ts";
import type { CommandContext } from "../context.ts";
import { shortId } from "../format/short-id.ts";
import { requester } from "../requester.ts";

export function registerTriggers(program: Command, context: () => CommandContext): void {
  const triggers = program
    .command("triggers")
    .description("list the graph's schedules and sensors with their last and next ticks; pause or resume one")
    .option("--json", "one TriggerView per line as proto3 JSON")
    .addHelpText(
      "after",
      "\nA trigger's ticks are evaluated by `databuild serve` (every replica; each tick is claimed once in the log).\n" +
        "Exit codes: 0 listed, paused or resumed; 2 unknown trigger or bad graph file; 3 the log could not be read or written.",
    )
    .action(async (options: { json?: boolean }) => {
      const ctx = context();
      const graph = await ctx.loadGraph();
      const log = await ctx.openEventLog({ readOnly: true });
      try {
        const book = await loadTriggerBook(log, { note: ctx.note });
        const views = triggerViews(graph, book, Date.now());
        if (options.json) for (const view of views) ctx.out(toJsonString(TriggerViewSchema, view) + "\n");
        else ctx.out(formatTriggers(graph.label, views));
      } finally {
        await log.close();
      }
    });
  for (const paused of [true, false]) {
    triggers
      .command(paused ? "pause" : "resume")
      .description(
        paused
          ? "pause a trigger: its schedule's ticks are recorded as paused, its sensor is not evaluated, until resumed"
          : "resume a paused trigger",
      )
      .argument("<name>", "the trigger's name (as `databuild triggers` lists it)")
      .option("--json", "print the trigger's TriggerView as proto3 JSON")
      .action(async (name: string, options: { json?: boolean }) => {
        const ctx = context();
        const graph = await ctx.loadGraph();
        const log = await ctx.openEventLog();
        try {
          const by = requester().replace(/ pid \d+$/, "");
          const wasPaused = (await loadTriggerBook(log, { note: ctx.note })).isPaused(name);
          const view = await setTriggerPaused(log, graph, name, paused, by);
          // `--json` after the name is the parent's option as commander parses it.
          if (options.json || triggers.opts<{ json?: boolean }>().json)
            ctx.out(toJsonString(TriggerViewSchema, view) + "\n");
          else if (wasPaused === paused) ctx.out(`trigger ${name} was ${paused ? "paused" : "not paused"} already\n`);
          else ctx.out(`${paused ? "paused" : "resumed"} trigger ${name} (by ${by})\n`);
        } finally {
          await log.close();
        }
      });
  }
}

function formatTriggers(label: string, views: readonly TriggerView[]): string {
  if (views.length === 0) return `graph ${label} declares no triggers\n`;
  const lines = [`graph ${label}: ${views.length} trigger${views.length === 1 ? "" : "s"}`];
  for (const view of views) {
    const what = view.kind === "schedule" ? `schedule  ${view.cron} (${view.timeZone})` : "sensor";
    lines.push("", `${view.name}  ${what}${view.paused ? "  PAUSED" : ""}`, `  requests: ${view.description}`);
    if (view.lastTick) {
      const request = view.lastBuildRequestId ? `, build request ${shortId(view.lastBuildRequestId)}` : "";
      const message =
        view.lastMessage && view.lastOutcome !== TriggerOutcome.TRIGGER_REQUESTED ? `: ${view.lastMessage}` : "";
      lines.push(`  last:     ${iso(timestampMs(view.lastTick))} ${outcomeWord(view.lastOutcome)}${request}${message}`);
    } else lines.push("  last:     never");
    if (view.kind === "schedule")
      lines.push(
        `  next:     ${view.nextTick ? iso(timestampMs(view.nextTick)) : "none"}  (catch-up limit ${view.catchUpLimit})`,
      );
    if (view.definedAt) lines.push(`  defined:  ${view.definedAt}`);
  }
  return lines.join("\n") + "\n";
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}
