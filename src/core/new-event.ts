/**
 * @module Envelopes for build event payloads: id (time-ordered), timestamp,
 * build request and job run.
 */
import type { BuildEvent } from "../gen/databuild_pb.ts";
import type { EventPayload } from "./build-event.ts";
import { newId } from "./ids.ts";
import { timestampAtMs } from "./timestamp.ts";

/** Which build request (and job run) an event belongs to. */
export interface EventScope {
  readonly buildRequestId: string;
  readonly jobRunId?: string;
}

/** Wraps a payload in a BuildEvent with a fresh UUID and the current time. */
export function newEvent(scope: EventScope, payload: EventPayload, nowMs = Date.now()): BuildEvent {
  return {
    $typeName: "databuild.v1.BuildEvent",
    eventId: newId(nowMs),
    timestamp: timestampAtMs(nowMs),
    buildRequestId: scope.buildRequestId,
    jobRunId: scope.jobRunId ?? "",
    event: payload,
  };
}
