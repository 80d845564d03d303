/**
 * @module Declaring workers lost, and recording it: an atomic append that
 * re-decides on the board as the log holds it then (worker-decisions.ts), so
 * a worker is declared lost once however many builds and workers notice
 * together; then the job processes it left on this host, if any, are killed
 * (their results would never be recorded, and the jobs are about to run
 * again elsewhere).
 */
import type { BuildEvent } from "../gen/databuild_pb.ts";
import type { EventLog } from "../core/event-log.ts";
import { decideWorkerLost, whyWorkerLost, type HostProcesses, type WorkerLostDecision } from "../coordination/index.ts";
import type { BoardFollower } from "./board-follower.ts";

/** Declares each of `workerIds` lost that is lost now; returns the decisions recorded. */
export async function declareLostWorkers(
  log: EventLog,
  follower: BoardFollower,
  workerIds: readonly string[],
  detectedBy: string,
  host: HostProcesses,
): Promise<WorkerLostDecision[]> {
  const recorded: WorkerLostDecision[] = [];
  for (const workerId of workerIds) {
    const worker = follower.board.workers.worker(workerId);
    if (!worker || !whyWorkerLost(follower.board.workers, worker, Date.now(), host)) continue;
    let decision: WorkerLostDecision | undefined;
    let appended: BuildEvent[] = [];
    const outcome = await log.appendAtomically(follower.cursor, follower.filter, (found) => {
      follower.apply(found);
      decision = decideWorkerLost(follower.board, workerId, detectedBy, Date.now(), host);
      appended = decision?.events ?? [];
      return { append: appended, result: undefined };
    });
    follower.applyAppended(appended, outcome.offsets);
    if (!decision) continue;
    killLeftoverJobs(decision, host);
    recorded.push(decision);
  }
  return recorded;
}

/**
 * Kills the processes of the lost worker's job runs still running here:
 * those whose environment names the run. Found by their environment, not the
 * recorded pid, since a worker paused between starting a job and recording
 * its launch left no pid in the log.
 */
function killLeftoverJobs(decision: WorkerLostDecision, host: HostProcesses): void {
  if (decision.worker.hostname !== host.hostname) return;
  for (const run of decision.lostRuns) {
    for (const pid of host.withEnvironment(`DATABUILD_JOB_RUN_ID=${run.jobRunId}`)) {
      host.kill(pid, { group: true });
      host.kill(pid);
    }
  }
}
