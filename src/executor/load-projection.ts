/**
 * @module Folds the event log into a projection, reading only the event
 * kinds the projection needs, page by page.
 */
import type { BuildEvent } from "../gen/databuild_pb.ts";
import type { EventCase } from "../core/build-event.ts";
import type { EventLog } from "../core/event-log.ts";

const PAGE = 10_000;

/** Applies every logged event of `kinds` to `projection`; returns the last offset read. */
export async function loadProjection(
  log: EventLog,
  projection: { apply(event: BuildEvent): void },
  kinds: readonly EventCase[],
  after = 0,
): Promise<number> {
  let cursor = after;
  for (;;) {
    const page = await log.read(cursor, { kinds }, PAGE);
    for (const logged of page) projection.apply(logged.event);
    if (page.length < PAGE) return page.length > 0 ? page[page.length - 1]!.offset : cursor;
    cursor = page[page.length - 1]!.offset;
  }
}
