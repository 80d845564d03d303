/**
 * @module Telling that another build request is gone, and recording it. A
 * build request on this host whose process no longer exists is gone at once,
 * and one whose process runs is never gone; any other (on another host, or
 * stopped) is gone when its lease runs out (no event for its heartbeat
 * timeout). Declaring one lost is an atomic append that re-checks the lease
 * on the log as it is at that moment, so it is recorded once even when
 * several build requests notice together.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { hostProcessState } from "./proc-host-processes.ts";
import type { BuildEvent } from "../gen/databuild_pb.ts";
import type { EventLog, LoggedEvent } from "../core/event-log.ts";
import type { ClaimBook, Lease, OpenJobRun } from "../core/projections/claims.ts";
import { lostBuildEvents } from "./claim-decisions.ts";
import { SHARED_VIEW_FILTER, type SharedView } from "./shared-view.ts";

const HOST = hostname();

/**
 * Why `lease`'s build request should be declared lost now, or undefined
 * while it may be alive. On this host the process decides: gone is lost at
 * once, and a process that provably runs is never lost, however late its
 * heartbeat (a loaded machine, a long garbage collection); a stopped one, or
 * one on another host, is lost when its lease runs out.
 */
export function whyLost(claims: ClaimBook, lease: Lease, nowMs: number): string | undefined {
  if (lease.ended) return undefined;
  if (lease.hostname === HOST && lease.pid > 0 && lease.pid !== process.pid) {
    const state = hostProcessState(lease.pid, lease.receivedMs);
    if (state === "gone") return `its process ${lease.pid} on ${lease.hostname} is gone`;
    if (state === "running") return undefined;
  }
  if (claims.isExpired(lease, nowMs)) {
    const silent = Math.round((nowMs - lease.lastSeenMs) / 100) / 10;
    return `no heartbeat for ${silent} s (its heartbeat timeout is ${lease.heartbeatTimeoutMs / 1000} s)`;
  }
  return undefined;
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
  let lostLease: Lease | undefined;
  // Catch up outside the write lock, so the transaction only reads what arrived since.
  const caughtUp = await view.refresh(log);
  const outcome = await log.appendAtomically(view.cursor, SHARED_VIEW_FILTER, (events) => {
    fresh = view.apply(events);
    const lease = view.claims.lease(buildRequestId);
    const now = Date.now();
    const reason = lease && whyLost(view.claims, lease, now);
    appended = lease && reason ? lostBuildEvents(lease, detectedBy, reason, now) : [];
    orphans = lease && reason ? [...lease.openRuns.values()] : [];
    lostLease = lease && reason ? lease : undefined;
    return { append: appended, result: undefined };
  });
  for (const run of orphans) killOrphan(run);
  if (lostLease) killStoppedHolder(lostLease, orphans);
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

/**
 * A lost build request's process that still exists on this host is stopped
 * (SIGSTOP, a debugger), or its lease could not have expired. If it was
 * running in-process jobs, their threads would go on writing the same
 * partitions when it resumes, while they run again here: so it is killed.
 * One with only command jobs is left alone (its job processes were killed
 * above, and the fence refuses anything it records when it resumes).
 */
function killStoppedHolder(lease: Lease, runs: readonly OpenJobRun[]): void {
  if (lease.hostname !== HOST || lease.pid <= 0 || lease.pid === process.pid) return;
  if (!runs.some((run) => run.launched && run.pid === lease.pid)) return;
  if (hostProcessState(lease.pid, lease.receivedMs) !== "stopped") return;
  try {
    process.kill(lease.pid, "SIGKILL");
  } catch {
    // Gone meanwhile.
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
