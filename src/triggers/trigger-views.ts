/**
 * @module What `databuild triggers` and ListTriggers show: each trigger the
 * graph declares, with what the log knows of it (paused, last tick) and,
 * for a schedule, its next tick.
 */
import { create } from "@bufbuild/protobuf";
import { TriggerViewSchema, type TriggerView } from "../gen/databuild_pb.ts";
import type { Graph } from "../core/graph.ts";
import type { TriggerBook } from "../core/projections/triggers.ts";
import type { TriggerDefinition } from "../core/triggers.ts";
import { timestampAtMs } from "../core/timestamp.ts";

/** One TriggerView per trigger of the graph, in declaration order. */
export function triggerViews(graph: Graph, book: TriggerBook, now: number): TriggerView[] {
  return graph.triggers.map((trigger) => triggerView(trigger, book, now));
}

export function triggerView(trigger: TriggerDefinition, book: TriggerBook, now: number): TriggerView {
  const record = book.get(trigger.name);
  const last = record?.last;
  const schedule = trigger.kind === "schedule" ? trigger : undefined;
  const next = schedule?.times.next(now);
  return create(TriggerViewSchema, {
    name: trigger.name,
    kind: trigger.kind,
    cron: schedule?.cron ?? "",
    timeZone: schedule?.timeZone ?? "",
    description: trigger.description,
    paused: record?.paused ?? false,
    lastTick: last ? timestampAtMs(last.tickMs) : undefined,
    lastOutcome: last?.outcome,
    lastBuildRequestId: last?.buildRequestId ?? "",
    lastMessage: last?.message ?? "",
    nextTick: next === undefined ? undefined : timestampAtMs(next),
    catchUpLimit: schedule?.catchUpLimit ?? 0,
    definedAt: trigger.definedAt ?? "",
  });
}
