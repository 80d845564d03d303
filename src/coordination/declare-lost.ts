/**
 * @module Declaring another build request lost, and recording it: an atomic
 * append that re-decides (liveness.ts) on the log as it is at that moment,
 * so it is recorded once even when several build requests notice together;
 * then what the lost build request left running on this host is killed.
 */
import type { BuildEvent } from "../gen/databuild_pb.ts";
import type { EventLog, LoggedEvent } from "../core/event-log.ts";
import type { HostProcesses } from "./host-processes.ts";
import { decideLost, goneBuildRequests, killLeftovers, type LostDecision } from "./liveness.ts";
import { PROC_HOST } from "./proc-host-processes.ts";
import { SHARED_VIEW_FILTER, type SharedView } from "./shared-view.ts";

/**
 * Declares `buildRequestId` lost if it still is when the transaction runs.
 * Returns every event the view took in (read or appended), in order, for the
 * caller to react to.
 */
export async function declareLost(
  log: EventLog,
  view: SharedView,
  detectedBy: string,
  buildRequestId: string,
  host: HostProcesses = PROC_HOST,
): Promise<LoggedEvent[]> {
  let fresh: LoggedEvent[] = [];
  let appended: BuildEvent[] = [];
  let lost: LostDecision | undefined;
  // Catch up outside the write lock, so the transaction only reads what arrived since.
  const caughtUp = await view.refresh(log);
  const outcome = await log.appendAtomically(view.cursor, SHARED_VIEW_FILTER, (events) => {
    fresh = view.apply(events);
    lost = decideLost(view.claims, buildRequestId, detectedBy, Date.now(), host);
    appended = lost?.events ?? [];
    return { append: appended, result: undefined };
  });
  if (lost) killLeftovers(lost, host);
  return [...caughtUp, ...fresh, ...view.applyAppended(appended, outcome.offsets, outcome.head)];
}

/** Declares lost every other build request that is gone (before planning, so its claims do not stand in the way). */
export async function reapLostBuilds(
  log: EventLog,
  view: SharedView,
  me: string,
  host: HostProcesses = PROC_HOST,
): Promise<void> {
  for (const lease of goneBuildRequests(view.claims, me, Date.now(), host))
    await declareLost(log, view, me, lease.buildRequestId, host);
}
