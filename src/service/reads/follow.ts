/**
 * @module Waiting for the live log to move, for the streams: resolves when
 * events past an offset were applied, or the call was abandoned.
 */
import type { LiveLog } from "./live-log.ts";

/** Resolves once the live log is past `offset` (or already is), or `signal` aborts. */
export function nextEvents(live: LiveLog, offset: number, signal: AbortSignal): Promise<void> {
  if (live.cursor > offset || signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      unsubscribe();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const unsubscribe = live.onEvents((events) => {
      if (events[events.length - 1]!.offset > offset) done();
    });
    signal.addEventListener("abort", done);
  });
}
