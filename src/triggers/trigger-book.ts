/**
 * @module Loading the trigger book (its snapshot and the events after it),
 * and pausing or resuming a trigger: one TriggerPaused or TriggerResumed,
 * appended atomically with the check that it changes something.
 */
import type { EventLog } from "../core/event-log.ts";
import { UsageError } from "../core/errors.ts";
import type { Graph } from "../core/graph.ts";
import { eventPayload } from "../core/build-event.ts";
import { newEvent } from "../core/new-event.ts";
import { TRIGGER_BOOK_KINDS, TriggerBook } from "../core/projections/triggers.ts";
import { findTrigger } from "../core/triggers.ts";
import type { TriggerView } from "../gen/databuild_pb.ts";
import { loadReadModel, type LoadOptions } from "../coordination/index.ts";
import { triggerView } from "./trigger-views.ts";

/** The trigger book as the log has it now. */
export async function loadTriggerBook(log: EventLog, options: Pick<LoadOptions, "note"> = {}): Promise<TriggerBook> {
  return (await loadReadModel(log, () => new TriggerBook(), options)).model;
}

/** A trigger name the graph does not declare (exit 2; the RPC's not_found). */
export class UnknownTriggerError extends UsageError {
  override readonly code = "UNKNOWN_TRIGGER";
  constructor(
    readonly trigger: string,
    readonly known: readonly string[],
  ) {
    super(
      `unknown trigger ${JSON.stringify(trigger)}: ` +
        (known.length === 0 ? "the graph declares no triggers" : `the graph's triggers are ${known.join(", ")}`),
    );
  }
}

/**
 * Pauses (or resumes) the trigger `name`, recording who did it; a trigger
 * already in that state records nothing. Returns its view afterwards.
 * Throws UnknownTriggerError for a name the graph does not declare.
 */
export async function setTriggerPaused(
  log: EventLog,
  graph: Graph,
  name: string,
  paused: boolean,
  by: string,
  now: () => number = Date.now,
): Promise<TriggerView> {
  const trigger = findTrigger(graph.triggers, name);
  if (!trigger)
    throw new UnknownTriggerError(
      name,
      graph.triggers.map((t) => t.name),
    );
  const loaded = await loadReadModel(log, () => new TriggerBook());
  const book = loaded.model;
  let applied = loaded.cursor;
  await log.appendAtomically(loaded.cursor, { kinds: TRIGGER_BOOK_KINDS }, (events) => {
    for (const { event, offset } of events) if (offset > applied) book.apply(event, (applied = offset));
    if (book.isPaused(name) === paused) return { append: [], result: undefined };
    const payload = paused
      ? eventPayload("triggerPaused", { trigger: name, by })
      : eventPayload("triggerResumed", { trigger: name, by });
    const event = newEvent({ buildRequestId: "" }, payload, now());
    book.apply(event, Number.MAX_SAFE_INTEGER);
    return { append: [event], result: undefined };
  });
  return triggerView(trigger, book, now());
}
