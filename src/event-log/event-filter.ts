/**
 * @module EventFilter evaluated in memory: the reference semantics that every
 * backend's query must agree with (the contract suite checks they do).
 */
import type { EventFilter } from "../core/event-log.ts";
import type { BuildEvent } from "../gen/databuild_pb.ts";
import { partitionRefsOf } from "../core/partition-refs.ts";

/**
 * True when `event` passes `filter`. Each defined field must match exactly
 * (an empty `jobRunId` selects events without a job run); an empty `kinds`
 * list matches nothing.
 */
export function matchesFilter(event: BuildEvent, filter: EventFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.buildRequestId !== undefined && event.buildRequestId !== filter.buildRequestId) return false;
  if (filter.exceptBuildRequestId !== undefined && event.buildRequestId === filter.exceptBuildRequestId) return false;
  if (filter.jobRunId !== undefined && event.jobRunId !== filter.jobRunId) return false;
  if (filter.kinds !== undefined && (event.event.case === undefined || !filter.kinds.includes(event.event.case))) {
    return false;
  }
  if (filter.partitions !== undefined) {
    const refs = partitionRefsOf(event);
    if (!refs.some((r) => filter.partitions!.includes(r))) return false;
  }
  return true;
}
