/**
 * @module Claims and leases, folded from the build event log: which live
 * build request holds each partition, when each build request was last
 * heard from, which of its job runs were still running, and who waits on
 * whom. This is the state exactly-once builds are decided on; it is only
 * acted on inside `EventLog.appendAtomically`, so two build requests never
 * decide on the same stale view.
 *
 * A lease is the promise a build request makes in its BuildOptions: a
 * heartbeat every `heartbeat_interval_ms`, and that it may be declared lost
 * after `heartbeat_timeout_ms` without any event. Time is the events' own
 * timestamps (wall clocks), so the hosts sharing a log need clocks that
 * agree to well within the timeout (NTP), as with any lease.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { DelegationReason, PartitionStatus, type BuildEvent, type Task } from "../../gen/databuild_pb.ts";
import type { EventCase } from "../build-event.ts";
import { endsBuildRequest } from "../build-request-ended.ts";
import { refill, stateObject, type ReadModel } from "../read-model.ts";
import { WORKER_LEASE_KINDS, WorkerLeases } from "./worker-leases.ts";

/** The event kinds the claim book folds; read only these. */
export const CLAIM_KINDS: readonly EventCase[] = [
  "buildRequestReceived",
  "buildRequestStatusChanged",
  "buildRequestLost",
  "buildHeartbeat",
  "partitionsClaimed",
  "partitionsReleased",
  "partitionManifest",
  "partitionStatusChanged",
  "partitionDelegated",
  "jobScheduleSuccess",
  "configValidateSuccess",
  "taskLaunchSuccess",
  "jobExecFail",
  ...WORKER_LEASE_KINDS,
];

/** Assumed for logs written before leases were recorded. */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 60_000;

/** A job run its build request started and has not seen end. */
export interface OpenJobRun {
  readonly jobRunId: string;
  readonly task: Task | undefined;
  /** Its wrapper validated the config (job.exec started): a lost run's path goes on from there. */
  validated: boolean;
  launched: boolean;
  pid: number;
  hostname: string;
  /** The worker that took it (--launcher worker), if one did. */
  workerId?: string;
}

export interface Lease {
  readonly buildRequestId: string;
  readonly hostname: string;
  readonly pid: number;
  readonly heartbeatTimeoutMs: number;
  /** Timestamp (ms) of its buildRequestReceived: its process started before it. */
  readonly receivedMs: number;
  /** Timestamp (ms) of the latest event from this build request. */
  lastSeenMs: number;
  /** The build request ended (`endsBuildRequest`: a final status, or declared lost)... */
  ended: boolean;
  /** ...and it ended by being declared lost by another build request. */
  lost: boolean;
  /** Partitions it claimed and has neither built, failed nor released. */
  readonly claims: Set<string>;
  readonly openRuns: Map<string, OpenJobRun>;
}

export class ClaimBook implements ReadModel {
  readonly name = "claim-book";
  // 3: worker leases, and the worker holding each job run.
  readonly version = 3;
  readonly kinds = CLAIM_KINDS;
  private readonly leases = new Map<string, Lease>();
  private readonly owners = new Map<string, Lease>();
  /** For each build request, the build requests that delegated IN_PROGRESS partitions to it, by partition. */
  private readonly waiters = new Map<string, Map<string, Set<string>>>();
  /** The worker pool: a build request whose job run a live worker holds is not lost (liveness.ts). */
  readonly workers = new WorkerLeases();

  /** One object, so that a lease shared by `leases` and `owners` stays one lease when restored. */
  saveState(): unknown {
    return { leases: this.leases, owners: this.owners, waiters: this.waiters, workers: this.workers.saveState() };
  }

  restoreState(state: unknown): void {
    const saved = stateObject(this.name, state, ["leases", "owners", "waiters", "workers"]);
    this.workers.restoreState(this.name, saved.workers);
    refill(this.name, this.leases, saved.leases);
    refill(this.name, this.owners, saved.owners);
    refill(this.name, this.waiters, saved.waiters);
  }

  apply(event: BuildEvent): void {
    const payload = event.event;
    switch (payload.case) {
      case "workerStarted":
      case "workerHeartbeat":
      case "workerStopped":
      case "workerLost":
        this.workers.apply(event);
        return;
      case "jobRunTaken":
        this.workers.apply(event);
        break;
      case "partitionManifest":
      case "jobExecFail":
        this.workers.runEnded(event.jobRunId);
        break;
    }
    if (payload.case === "buildRequestReceived") {
      const options = payload.value.options;
      this.leases.set(event.buildRequestId, {
        buildRequestId: event.buildRequestId,
        hostname: payload.value.hostname,
        pid: payload.value.pid,
        heartbeatTimeoutMs: options?.heartbeatTimeoutMs || DEFAULT_HEARTBEAT_TIMEOUT_MS,
        receivedMs: event.timestamp ? timestampMs(event.timestamp) : 0,
        lastSeenMs: event.timestamp ? timestampMs(event.timestamp) : 0,
        ended: false,
        lost: false,
        claims: new Set(),
        openRuns: new Map(),
      });
      return;
    }
    const lease = this.leases.get(event.buildRequestId);
    if (!lease) return;
    if (event.timestamp && !lease.ended) lease.lastSeenMs = Math.max(lease.lastSeenMs, timestampMs(event.timestamp));
    if (endsBuildRequest(event)) {
      this.end(lease, payload.case === "buildRequestLost");
      return;
    }
    switch (payload.case) {
      case "partitionsClaimed":
        if (lease.ended) break;
        for (const ref of payload.value.partitions) {
          this.owners.set(ref.str, lease);
          lease.claims.add(ref.str);
        }
        break;
      case "partitionsReleased":
        for (const ref of payload.value.partitions) this.unclaim(lease, ref.str);
        break;
      case "partitionManifest":
        for (const ref of payload.value.outputs) this.unclaim(lease, ref.str);
        lease.openRuns.delete(event.jobRunId);
        break;
      case "partitionStatusChanged":
        if (payload.value.status === PartitionStatus.PARTITION_FAILED)
          this.unclaim(lease, payload.value.partitionRef?.str ?? "");
        break;
      case "partitionDelegated":
        if (payload.value.reason === DelegationReason.IN_PROGRESS) {
          const byRef = this.waiters.get(payload.value.delegateBuildRequestId) ?? new Map<string, Set<string>>();
          this.waiters.set(payload.value.delegateBuildRequestId, byRef);
          const ref = payload.value.partitionRef?.str ?? "";
          const set = byRef.get(ref) ?? new Set<string>();
          byRef.set(ref, set.add(event.buildRequestId));
        }
        break;
      case "jobScheduleSuccess":
        if (!lease.ended)
          lease.openRuns.set(event.jobRunId, {
            jobRunId: event.jobRunId,
            task: payload.value.task,
            validated: false,
            launched: false,
            pid: 0,
            hostname: "",
          });
        break;
      case "configValidateSuccess": {
        const run = lease.openRuns.get(event.jobRunId);
        if (run) run.validated = true;
        break;
      }
      case "taskLaunchSuccess": {
        const run = lease.openRuns.get(event.jobRunId);
        if (run) Object.assign(run, { launched: true, pid: payload.value.pid, hostname: payload.value.hostname });
        break;
      }
      case "jobExecFail":
        lease.openRuns.delete(event.jobRunId);
        break;
      case "jobRunTaken": {
        const run = lease.openRuns.get(event.jobRunId);
        if (run && this.workers.holderOf(event.jobRunId)?.workerId === payload.value.workerId)
          run.workerId = payload.value.workerId;
        break;
      }
    }
  }

  lease(buildRequestId: string): Lease | undefined {
    return this.leases.get(buildRequestId);
  }

  /** The live build request holding a claim on `ref`, if any (a lease past its timeout still holds until declared lost). */
  ownerOf(ref: string): Lease | undefined {
    return this.owners.get(ref);
  }

  /** Build requests that have not ended, oldest first. */
  *liveLeases(): IterableIterator<Lease> {
    for (const lease of this.leases.values()) if (!lease.ended) yield lease;
  }

  /** Whether `lease` has been silent longer than its timeout at `nowMs`. */
  isExpired(lease: Lease, nowMs: number): boolean {
    return !lease.ended && nowMs - lease.lastSeenMs > lease.heartbeatTimeoutMs;
  }

  /** Live build requests that delegated `ref` to `buildRequestId` and still wait on it. */
  waitersOn(buildRequestId: string, ref: string): string[] {
    const ids = this.waiters.get(buildRequestId)?.get(ref);
    if (!ids) return [];
    return [...ids].filter((id) => this.leases.get(id)?.ended === false);
  }

  private end(lease: Lease, lost: boolean): void {
    lease.ended = true;
    lease.lost ||= lost;
    for (const ref of lease.claims) if (this.owners.get(ref) === lease) this.owners.delete(ref);
    lease.claims.clear();
    if (!lost) lease.openRuns.clear();
  }

  private unclaim(lease: Lease, ref: string): void {
    lease.claims.delete(ref);
    if (this.owners.get(ref) === lease) this.owners.delete(ref);
  }
}
