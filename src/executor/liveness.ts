/**
 * @module Telling that another build request is gone, and recording it. A
 * build request on this host whose process no longer exists is gone at once;
 * any other is gone when its lease runs out (no event for its heartbeat
 * timeout). Declaring one lost is an atomic append that re-checks the lease
 * on the log as it is at that moment, so it is recorded once even when
 * several build requests notice together.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { BuildEvent } from "../gen/databuild_pb.ts";
import type { EventLog, LoggedEvent } from "../core/event-log.ts";
import type { ClaimBook, Lease, OpenJobRun } from "../core/projections/claims.ts";
import { lostBuildEvents } from "./claim-decisions.ts";
import { SHARED_VIEW_FILTER, type SharedView } from "./shared-view.ts";

const HOST = hostname();

/** Why `lease`'s build request should be declared lost now, or undefined while it may be alive. */
export function whyLost(claims: ClaimBook, lease: Lease, nowMs: number): string | undefined {
  if (lease.ended) return undefined;
  if (lease.hostname === HOST && lease.pid > 0 && lease.pid !== process.pid && !processAlive(lease.pid))
    return `its process ${lease.pid} on ${lease.hostname} is gone`;
  if (claims.isExpired(lease, nowMs)) {
    const silent = Math.round((nowMs - lease.lastSeenMs) / 100) / 10;
    return `no heartbeat for ${silent} s (its heartbeat timeout is ${lease.heartbeatTimeoutMs / 1000} s)`;
  }
  return undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  // A killed process stays a zombie until its parent reaps it; it is gone all the same.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

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
): Promise<LoggedEvent[]> {
  let fresh: LoggedEvent[] = [];
  let appended: BuildEvent[] = [];
  let orphans: OpenJobRun[] = [];
  // Catch up outside the write lock, so the transaction only reads what arrived since.
  const caughtUp = await view.refresh(log);
  const outcome = await log.appendAtomically(view.cursor, SHARED_VIEW_FILTER, (events) => {
    fresh = view.apply(events);
    const lease = view.claims.lease(buildRequestId);
    const now = Date.now();
    const reason = lease && whyLost(view.claims, lease, now);
    appended = lease && reason ? lostBuildEvents(lease, detectedBy, reason, now) : [];
    orphans = lease && reason ? [...lease.openRuns.values()] : [];
    return { append: appended, result: undefined };
  });
  for (const run of orphans) killOrphan(run);
  return [...caughtUp, ...fresh, ...view.applyAppended(appended, outcome.offsets, outcome.head)];
}

/**
 * Kills a lost job run's process group if it still runs on this host (its
 * owner was paused, or died without its launcher noticing): its result would
 * never be recorded, and the job is about to run again elsewhere. The process
 * is only killed if its environment names that job run, so a reused pid is
 * never hit.
 */
function killOrphan(run: OpenJobRun): void {
  if (!run.launched || run.hostname !== HOST || run.pid <= 0) return;
  try {
    const env = readFileSync(`/proc/${run.pid}/environ`, "latin1").split("\0");
    if (!env.includes(`DATABUILD_JOB_RUN_ID=${run.jobRunId}`)) return;
    process.kill(-run.pid, "SIGKILL");
  } catch {
    // Gone already, not ours, or no /proc: nothing to do.
  }
}

/** Declares lost every other build request that is gone (before planning, so its claims do not stand in the way). */
export async function reapLostBuilds(log: EventLog, view: SharedView, me: string): Promise<void> {
  const now = Date.now();
  const gone = [...view.claims.liveLeases()].filter(
    (lease) => lease.buildRequestId !== me && whyLost(view.claims, lease, now) !== undefined,
  );
  for (const lease of gone) await declareLost(log, view, me, lease.buildRequestId);
}
