/**
 * @module The end a worker records for a run whose own events could not all
 * be recorded: the rest of its job.exec path, on the board's account of
 * what is durable, so the path stays one the diagram accepts.
 */
import { ExitCategory, type BuildEvent } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import { configValidateSuccess } from "../core/hot-payloads.ts";
import { newEvent } from "../core/new-event.ts";
import type { Offer } from "../core/projections/worker-board.ts";

export /**
 * The rest of a run's job.exec path, from where the board says its durable
 * events left it, ended as EXIT_LOST: after a failure step only jobExecFail;
 * after the launch, the task failed; before it, the launch failed.
 */
function missingEnd(offer: Offer, reason: string): BuildEvent[] {
  const scope = { buildRequestId: offer.buildRequestId, jobRunId: offer.jobRunId };
  const events: BuildEvent[] = [];
  if (offer.failed) {
    // Only jobExecFail is missing.
  } else if (offer.launched) {
    events.push(newEvent(scope, payload("taskFailed", { category: ExitCategory.EXIT_LOST, message: reason })));
  } else {
    if (!offer.validated) events.push(newEvent(scope, configValidateSuccess(undefined)));
    events.push(newEvent(scope, payload("taskLaunchFail", { message: reason })));
  }
  events.push(newEvent(scope, payload("jobExecFail", { category: ExitCategory.EXIT_LOST, message: reason })));
  return events;
}
