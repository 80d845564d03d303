/**
 * @module Decisions about the worker pool, on the worker board and the
 * time: which offer a worker may take, whether a worker is lost, and the
 * events that record either. Each is made inside an atomic append on the
 * board as the log holds it then (src/workers/), so an offer is taken once
 * and a worker declared lost once, however many notice together.
 *
 * A worker is lost when its process on this host is gone, or when its lease
 * ran out. Unlike a build request, a worker whose process still runs here is
 * not spared: it may be cut off from the log (a network namespace, a
 * firewall), and it stops its own jobs once it cannot renew its lease
 * (src/workers/worker.ts), well before the lease runs out.
 */
import { ExitCategory, type BuildEvent } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import { newEvent } from "../core/new-event.ts";
import { canRun, type Offer, type Requirements, type WorkerBoard } from "../core/projections/worker-board.ts";
import type { WorkerLease, WorkerLeases } from "../core/projections/worker-leases.ts";
import type { HostProcesses } from "./host-processes.ts";
import { processState } from "./liveness.ts";
import { PROC_HOST } from "./proc-host-processes.ts";
import { timestampAtMs } from "../core/timestamp.ts";

/** Why `worker` should be declared lost now, or undefined while it may be alive. */
export function whyWorkerLost(
  workers: WorkerLeases,
  worker: WorkerLease,
  nowMs: number,
  host: HostProcesses = PROC_HOST,
): string | undefined {
  if (worker.ended) return undefined;
  if (worker.hostname === host.hostname && worker.pid > 0 && worker.pid !== host.pid) {
    if (processState(host.inspect(worker.pid), worker.startedMs) === "gone")
      return `its process ${worker.pid} on ${worker.hostname} is gone`;
  }
  if (workers.isExpired(worker, nowMs)) {
    const silent = Math.round((nowMs - worker.lastSeenMs) / 100) / 10;
    return `no heartbeat for ${silent} s (its heartbeat timeout is ${worker.heartbeatTimeoutMs / 1000} s)`;
  }
  return undefined;
}

/** A worker to declare lost: why, the events that do it, and the job runs it held. */
export interface WorkerLostDecision {
  readonly worker: WorkerLease;
  readonly reason: string;
  readonly events: BuildEvent[];
  readonly lostRuns: readonly Offer[];
}

/** Whether to declare `workerId` lost now, on the board as it is (inside the atomic append that records it). */
export function decideWorkerLost(
  board: WorkerBoard,
  workerId: string,
  detectedBy: string,
  nowMs: number,
  host: HostProcesses = PROC_HOST,
): WorkerLostDecision | undefined {
  const worker = board.workers.worker(workerId);
  const reason = worker && whyWorkerLost(board.workers, worker, nowMs, host);
  if (!worker || !reason) return undefined;
  const lostRuns = board.heldBy(workerId);
  return { worker, reason, lostRuns, events: workerLostEvents(worker, lostRuns, detectedBy, reason, nowMs) };
}

/**
 * WorkerLost, then each held job run's job.exec path ended where it was cut
 * off, in its own build request: after a failure step (the worker recorded
 * it, but not yet the jobExecFail that follows), the jobExecFail alone;
 * after the launch the task failed; after the config was validated, the
 * launch failed; before that it has no path (its build request records the
 * job failure, as for any failed run).
 */
export function workerLostEvents(
  worker: WorkerLease,
  runs: readonly Offer[],
  detectedBy: string,
  reason: string,
  nowMs: number,
): BuildEvent[] {
  const events: BuildEvent[] = [
    newEvent(
      { buildRequestId: "" },
      payload("workerLost", {
        workerId: worker.workerId,
        reason,
        detectedBy,
        lastHeartbeat: timestampAtMs(worker.lastSeenMs),
        lostJobRunIds: runs.map((r) => r.jobRunId),
      }),
      nowMs,
    ),
  ];
  for (const run of runs) {
    const scope = { buildRequestId: run.buildRequestId, jobRunId: run.jobRunId };
    const message = lostRunMessage(run, worker, reason);
    if (run.failed) {
      events.push(newEvent(scope, payload("jobExecFail", { category: ExitCategory.EXIT_LOST, message }), nowMs));
    } else if (run.launched) {
      events.push(
        newEvent(scope, payload("taskFailed", { category: ExitCategory.EXIT_LOST, message }), nowMs),
        newEvent(scope, payload("jobExecFail", { category: ExitCategory.EXIT_LOST, message }), nowMs),
      );
    } else if (run.validated) {
      events.push(
        newEvent(scope, payload("taskLaunchFail", { message }), nowMs),
        newEvent(scope, payload("jobExecFail", { category: ExitCategory.EXIT_LOST, message }), nowMs),
      );
    }
  }
  return events;
}

/** How a job run lost with its worker is described (the build's failure message). */
export function lostRunMessage(
  run: Pick<Offer, "jobRunId" | "launched" | "pid">,
  worker: WorkerLease,
  reason: string,
): string {
  const where = run.launched ? `; it ran as process ${run.pid} on ${worker.hostname}` : "";
  return `job run ${run.jobRunId} was lost with worker ${worker.workerId} on ${worker.hostname} (${reason})${where}`;
}

/**
 * Whether `workerId` may take `jobRunId` now: the offer is still untaken and
 * not cancelled, the worker is in the pool and has the labels and free slots
 * the job needs. Returns the JobRunTaken event, or why not.
 */
export function decideTake(
  board: WorkerBoard,
  workerId: string,
  hostname: string,
  jobRunId: string,
  freeSlots: number,
  nowMs: number,
): { readonly event: BuildEvent } | { readonly refused: string } {
  const offer = board.offer(jobRunId);
  if (!offer) return { refused: "the offer ended (its build request withdrew it, or it was lost)" };
  if (offer.takenBy !== undefined) return { refused: `worker ${offer.takenBy} took it` };
  if (offer.cancelled) return { refused: "its build request cancelled it" };
  const worker = board.workers.worker(workerId);
  if (!worker || worker.ended) return { refused: `worker ${workerId} is not in the pool (declared lost?)` };
  if (!canRun(offer.requires, worker.labels, freeSlots))
    return { refused: "the job needs labels or slots this worker lacks" };
  return {
    event: newEvent(
      { buildRequestId: offer.buildRequestId, jobRunId },
      payload("jobRunTaken", { workerId, hostname }),
      nowMs,
    ),
  };
}

/** The live workers (lease not run out) that could ever run a job needing `requires`. */
export function workersAbleToRun(board: WorkerBoard, requires: Requirements, nowMs: number): WorkerLease[] {
  return [...board.workers.live()].filter(
    (w) => !board.workers.isExpired(w, nowMs) && canRun(requires, w.labels, w.slots),
  );
}

/** The requirements in words ("labels gpu=true, 2 slots"), for messages. */
export function describeRequirements(requires: Requirements): string {
  const labels = Object.entries(requires.labels).map(([k, v]) => `${k}=${v}`);
  const parts = [
    ...(labels.length > 0 ? [`label${labels.length === 1 ? "" : "s"} ${labels.join(", ")}`] : []),
    ...(requires.slots > 1 ? [`${requires.slots} slots`] : []),
  ];
  return parts.length > 0 ? parts.join(", ") : "nothing in particular";
}
