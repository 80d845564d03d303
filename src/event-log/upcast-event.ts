/**
 * @module The one place where events stored by an older databuild are
 * translated to the current shape on the way out of any backend.
 */
import type { BuildEvent } from "../gen/databuild_pb.ts";

/**
 * Returns `event` as the current code expects it. Every backend calls this on
 * every event it reads, so a renamed or retired event kind is translated here
 * once rather than in each consumer (STYLE lesson 7). Today it is the
 * identity: proto evolution rules (never renumber, `reserved`, add rather than
 * change) keep version 1 events readable as they are. Fields this databuild
 * does not know (written by a newer one) survive in `$unknown`.
 */
export function upcastEvent(event: BuildEvent): BuildEvent {
  // THE GRAVEYARD: when an event kind is retired, map its stored form to its
  // replacement here, with a comment naming the release that retired it.
  return event;
}
