/**
 * @module Worker leases, folded from the log: which `databuild worker`
 * processes are in the pool, what they offer, when each was last heard from,
 * and which job runs each holds. Both the claim book (a build request whose
 * job runs a live worker still runs is not lost) and the worker board (which
 * offer a worker may take, which worker to declare lost) keep one.
 *
 * Like a build request's lease, a worker's is a promise made in its
 * WorkerStarted: a heartbeat every `heartbeat_interval_ms`, and that it may
 * be declared lost after `heartbeat_timeout_ms` without one. A worker that
 * cannot renew its lease stops its jobs well before that (src/workers/), so
 * a job declared lost with its worker has stopped by then.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { BuildEvent } from "../../gen/databuild_pb.ts";
import type { EventCase } from "../build-event.ts";
import { refill, stateObject } from "../read-model.ts";

export const WORKER_LEASE_KINDS: readonly EventCase[] = [
  "workerStarted",
  "workerHeartbeat",
  "workerStopped",
  "workerLost",
  "jobRunTaken",
];

export interface WorkerLease {
  readonly workerId: string;
  readonly hostname: string;
  readonly pid: number;
  readonly slots: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly heartbeatTimeoutMs: number;
  /** Timestamp (ms) of its WorkerStarted: its process started before it. */
  readonly startedMs: number;
  lastSeenMs: number;
  /** Stopped on its own, or declared lost. */
  ended: boolean;
  lost: boolean;
  /** Job runs it took that have not ended (as far as this model knows: see `runEnded`). */
  readonly runs: Set<string>;
}

/** Ended workers are kept this long (ms after their end) for messages, then forgotten. */
const KEEP_ENDED_MS = 10 * 60_000;

export class WorkerLeases {
  private readonly workers = new Map<string, WorkerLease>();
  /** The worker holding each job run taken and not ended. */
  private readonly holders = new Map<string, WorkerLease>();

  saveState(): unknown {
    return { workers: this.workers, holders: this.holders };
  }

  restoreState(model: string, state: unknown): void {
    const saved = stateObject(model, state, ["workers", "holders"]);
    refill(model, this.workers, saved.workers);
    refill(model, this.holders, saved.holders);
  }

  /** Folds a worker lifecycle event or a take; other events are ignored. */
  apply(event: BuildEvent): void {
    const p = event.event;
    const atMs = event.timestamp ? timestampMs(event.timestamp) : 0;
    switch (p.case) {
      case "workerStarted": {
        const v = p.value;
        this.workers.set(v.workerId, {
          workerId: v.workerId,
          hostname: v.hostname,
          pid: v.pid,
          slots: Math.max(1, v.slots),
          labels: { ...v.labels },
          heartbeatTimeoutMs: v.heartbeatTimeoutMs,
          startedMs: atMs,
          lastSeenMs: atMs,
          ended: false,
          lost: false,
          runs: new Set(),
        });
        this.forgetEnded(atMs);
        return;
      }
      case "workerHeartbeat": {
        const worker = this.workers.get(p.value.workerId);
        if (worker && !worker.ended) worker.lastSeenMs = Math.max(worker.lastSeenMs, atMs);
        return;
      }
      case "workerStopped":
      case "workerLost": {
        const worker = this.workers.get(p.value.workerId);
        if (!worker || worker.ended) return;
        worker.ended = true;
        worker.lost = p.case === "workerLost";
        worker.lastSeenMs = Math.max(worker.lastSeenMs, atMs);
        for (const id of worker.runs) this.holders.delete(id);
        worker.runs.clear();
        return;
      }
      case "jobRunTaken": {
        const worker = this.workers.get(p.value.workerId);
        if (!worker || worker.ended || this.holders.has(event.jobRunId)) return;
        worker.runs.add(event.jobRunId);
        this.holders.set(event.jobRunId, worker);
        worker.lastSeenMs = Math.max(worker.lastSeenMs, atMs);
        return;
      }
      default:
        return;
    }
  }

  /** A job run ended (its job.exec path ended, or its build request let it go): its worker no longer holds it. */
  runEnded(jobRunId: string): void {
    const worker = this.holders.get(jobRunId);
    if (!worker) return;
    this.holders.delete(jobRunId);
    worker.runs.delete(jobRunId);
  }

  worker(workerId: string): WorkerLease | undefined {
    return this.workers.get(workerId);
  }

  /** The worker holding `jobRunId`, if a worker took it and it has not ended. */
  holderOf(jobRunId: string): WorkerLease | undefined {
    return this.holders.get(jobRunId);
  }

  /** Workers in the pool (not ended), oldest first. */
  *live(): IterableIterator<WorkerLease> {
    for (const worker of this.workers.values()) if (!worker.ended) yield worker;
  }

  /** Whether `worker` has been silent longer than its lease at `nowMs`. */
  isExpired(worker: WorkerLease, nowMs: number): boolean {
    return !worker.ended && nowMs - worker.lastSeenMs > worker.heartbeatTimeoutMs;
  }

  private forgetEnded(nowMs: number): void {
    for (const [id, worker] of this.workers)
      if (worker.ended && nowMs - worker.lastSeenMs > KEEP_ENDED_MS) this.workers.delete(id);
  }
}
