/**
 * @module The fence's decision: has this build request been declared lost?
 * The recorder (src/executor/event-recorder.ts) appends each batch
 * atomically with this check, reading only `fenceFilter`'s events after its
 * last look; once another build request declared this one lost (it was
 * paused past its lease and its work was taken over), nothing more is
 * recorded, so a late manifest cannot make a partition "built" twice.
 */
import type { EventFilter, LoggedEvent } from "../core/event-log.ts";

/** Who declared a build request lost, and why. */
export interface DeclaredLost {
  readonly detectedBy: string;
  readonly reason: string;
}

/** The events the fence reads: declarations that `buildRequestId` is lost. */
export function fenceFilter(buildRequestId: string): EventFilter {
  return { buildRequestId, kinds: ["buildRequestLost"] };
}

/** The first declaration among `events` that `buildRequestId` is lost, if there is one. */
export function declaredLost(buildRequestId: string, events: readonly LoggedEvent[]): DeclaredLost | undefined {
  for (const { event } of events) {
    const e = event.event;
    if (e.case === "buildRequestLost" && event.buildRequestId === buildRequestId)
      return { detectedBy: e.value.detectedByBuildRequestId, reason: e.value.reason };
  }
  return undefined;
}
