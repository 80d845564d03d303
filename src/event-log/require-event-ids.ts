/**
 * @module The append precondition shared by every backend: each event has an
 * id, because the id is what makes re-appending a relayed event a no-op.
 */
import type { BuildEvent } from "../gen/databuild_pb.ts";

/** Throws a TypeError naming the first event of `events` whose `eventId` is empty. */
export function requireEventIds(events: readonly BuildEvent[]): void {
  const i = events.findIndex((e) => e.eventId === "");
  if (i >= 0) {
    const kind = events[i]!.event.case ?? "no payload";
    throw new TypeError(`event ${i} (${kind}) has an empty event_id; create events with newEvent()`);
  }
}
