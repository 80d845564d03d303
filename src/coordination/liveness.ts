/**
 * @module Telling that another build request is gone: pure decisions on the
 * claim book, the host's answers (host-processes.ts) and the time. A build
 * request on this host whose process no longer exists is gone at once, and
 * one whose process runs is never gone; any other (on another host, or
 * stopped) is gone when its lease runs out (no event for its heartbeat
 * timeout). Declaring one lost (declare-lost.ts) re-decides inside an
 * atomic append, so it is recorded once even when several build requests
 * notice together.
 */
import type { BuildEvent } from "../gen/databuild_pb.ts";
import type { ClaimBook, Lease, OpenJobRun } from "../core/projections/claims.ts";
import { lostBuildEvents } from "./claim-decisions.ts";
import type { HostProcesses, ProcessFacts } from "./host-processes.ts";
import { PROC_HOST } from "./proc-host-processes.ts";
import { runsHere } from "./running-here.ts";

/** Slack for clock rounding between the kernel's start time and the event's timestamp. */
const START_SLACK_MS = 2_000;

/**
 * What this host can prove about a process of a build request that runs
 * here: gone (no such process, a zombie, or a later process that reused the
 * pid), stopped (SIGSTOP, a debugger), running, or unknown (no /proc).
 */
export type HostProcessState = "gone" | "stopped" | "running" | "unknown";

/**
 * The state of a process the host describes as `facts`, which was alive at
 * `startedBeforeMs` if it is the process meant: one that started later
 * reused the pid.
 */
export function processState(facts: ProcessFacts, startedBeforeMs: number): HostProcessState {
  if (!facts.exists) return "gone";
  if (facts.stopped === undefined) return "unknown";
  if (facts.startedAtMs !== undefined && startedBeforeMs > 0 && facts.startedAtMs > startedBeforeMs + START_SLACK_MS)
    return "gone";
  return facts.stopped ? "stopped" : "running";
}

/** The state of `lease`'s process, if it runs on this host (and is not this process). */
export function holderProcessState(lease: Lease, host: HostProcesses): HostProcessState | undefined {
  if (lease.hostname !== host.hostname || lease.pid <= 0 || lease.pid === host.pid) return undefined;
  return processState(host.inspect(lease.pid), lease.receivedMs);
}

/**
 * Why `lease`'s build request should be declared lost now, or undefined
 * while it may be alive. On this host the process decides: gone is lost at
 * once, and a process that provably runs is never lost, however late its
 * heartbeat (a loaded machine, a long garbage collection); a stopped one, or
 * one on another host, is lost when its lease runs out.
 */
export function whyLost(
  claims: ClaimBook,
  lease: Lease,
  nowMs: number,
  host: HostProcesses = PROC_HOST,
): string | undefined {
  if (lease.ended) return undefined;
  // A sibling build of this process: alive while it runs here (running-here.ts).
  if (lease.hostname === host.hostname && lease.pid === host.pid && runsHere(lease.buildRequestId)) return undefined;
  // Its jobs on workers go on without it, and record their own ends: taking
  // its work over now would run them twice at once.
  if (heldByLiveWorker(claims, lease, nowMs)) return undefined;
  const state = holderProcessState(lease, host);
  if (state === "gone") return `its process ${lease.pid} on ${lease.hostname} is gone`;
  if (state === "running") return undefined;
  if (claims.isExpired(lease, nowMs)) {
    const silent = Math.round((nowMs - lease.lastSeenMs) / 100) / 10;
    return `no heartbeat for ${silent} s (its heartbeat timeout is ${lease.heartbeatTimeoutMs / 1000} s)`;
  }
  return undefined;
}

/** Whether a live worker holds one of `lease`'s job runs. */
function heldByLiveWorker(claims: ClaimBook, lease: Lease, nowMs: number): boolean {
  for (const run of lease.openRuns.values()) {
    if (run.workerId === undefined) continue;
    const worker = claims.workers.holderOf(run.jobRunId);
    if (worker && !claims.workers.isExpired(worker, nowMs)) return true;
  }
  return false;
}

/** The build requests other than `me` that are gone now, oldest first. */
export function goneBuildRequests(
  claims: ClaimBook,
  me: string,
  nowMs: number,
  host: HostProcesses = PROC_HOST,
): Lease[] {
  return [...claims.liveLeases()].filter(
    (lease) => lease.buildRequestId !== me && whyLost(claims, lease, nowMs, host) !== undefined,
  );
}

/** A build request to declare lost: why, the events that do it, and the job runs it had open (their processes may remain). */
export interface LostDecision {
  readonly lease: Lease;
  readonly reason: string;
  readonly events: BuildEvent[];
  readonly openRuns: readonly OpenJobRun[];
}

/**
 * Whether to declare `buildRequestId` lost now, on the claim book as it is
 * (inside the atomic append that records it): undefined while it may be
 * alive (or has ended).
 */
export function decideLost(
  claims: ClaimBook,
  buildRequestId: string,
  detectedBy: string,
  nowMs: number,
  host: HostProcesses = PROC_HOST,
): LostDecision | undefined {
  const lease = claims.lease(buildRequestId);
  const reason = lease && whyLost(claims, lease, nowMs, host);
  if (!lease || !reason) return undefined;
  return {
    lease,
    reason,
    events: lostBuildEvents(lease, detectedBy, reason, nowMs),
    openRuns: [...lease.openRuns.values()],
  };
}

/**
 * What to kill on this host once `lost` is recorded, asking the host about
 * each process as it goes:
 *
 * - Each lost job run's process group, if it still runs here (its owner was
 *   paused, or died without its spawner noticing): its result would never
 *   be recorded, and the job is about to run again elsewhere. Only if its
 *   environment names that job run, so a reused pid is never hit.
 * - The lost build request's own process, if it still exists here: then it
 *   is stopped (SIGSTOP, a debugger), or its lease could not have expired.
 *   If it was running in-process jobs, their threads would go on writing
 *   the same partitions when it resumes, while they run again here: so it
 *   is killed. One with only command jobs is left alone (its job processes
 *   were killed above, and the fence refuses anything it records when it
 *   resumes).
 */
export function killLeftovers(lost: Pick<LostDecision, "lease" | "openRuns">, host: HostProcesses): void {
  for (const run of lost.openRuns) {
    if (!run.launched && run.workerId === undefined && lost.lease.hostname === host.hostname) {
      // Started here, perhaps, but its launch never recorded (the build was paused or killed
      // in between): only its environment can find it.
      for (const pid of host.withEnvironment(`DATABUILD_JOB_RUN_ID=${run.jobRunId}`)) host.kill(pid, { group: true });
      continue;
    }
    if (!run.launched || run.hostname !== host.hostname || run.pid <= 0) continue;
    if (!host.environment(run.pid)?.includes(`DATABUILD_JOB_RUN_ID=${run.jobRunId}`)) continue;
    host.kill(run.pid, { group: true });
  }
  const { lease } = lost;
  if (!lost.openRuns.some((run) => run.launched && run.pid === lease.pid)) return;
  if (holderProcessState(lease, host) === "stopped") host.kill(lease.pid);
}
