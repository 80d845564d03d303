/**
 * @module The worker board, folded from the log: job runs builds offered to
 * the worker pool (--launcher worker) that no worker has finished, who took
 * each, and the workers' leases. A worker decides what to take on it, and
 * anyone following the pool decides on it which worker is lost; both only
 * inside `EventLog.appendAtomically`, so one offer is taken once and one
 * worker declared lost once.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { BuildEvent, JobRunRequest } from "../../gen/databuild_pb.ts";
import type { EventCase } from "../build-event.ts";
import { endsBuildRequest } from "../build-request-ended.ts";
import { refill, stateObject, type ReadModel } from "../read-model.ts";
import { WORKER_LEASE_KINDS, WorkerLeases } from "./worker-leases.ts";

/** The job.exec steps the board follows: where a taken run got to, and its end. */
const RUN_STEP_KINDS: readonly EventCase[] = [
  "configValidateSuccess",
  "configValidateFail",
  "taskLaunchSuccess",
  "taskLaunchFail",
  "taskFailed",
  "partitionManifest",
  "jobExecFail",
];

export const WORKER_BOARD_KINDS: readonly EventCase[] = [
  ...WORKER_LEASE_KINDS,
  ...RUN_STEP_KINDS,
  "jobRunOffered",
  "jobCancels",
  "buildRequestStatusChanged",
  "buildRequestLost",
];

/** What a job needs of its worker. */
export interface Requirements {
  readonly labels: Readonly<Record<string, string>>;
  readonly slots: number;
}

/** A job run offered to the pool and not ended. */
export interface Offer {
  readonly jobRunId: string;
  readonly buildRequestId: string;
  readonly request: JobRunRequest;
  readonly requires: Requirements;
  readonly offeredMs: number;
  takenBy: string | undefined;
  /** Its build request cancelled it (jobCancels); a worker running it stops it. */
  cancelled: boolean;
  validated: boolean;
  launched: boolean;
  /** Its path reached a failure step (configValidateFail, taskLaunchFail, taskFailed): only its jobExecFail is missing. */
  failed: boolean;
  pid: number;
  hostname: string;
}

export class WorkerBoard implements ReadModel {
  readonly name = "worker-board";
  // 2: failure steps (Offer.failed; taskFailed read).
  readonly version = 2;
  readonly kinds = WORKER_BOARD_KINDS;
  readonly workers = new WorkerLeases();
  private readonly offers = new Map<string, Offer>();
  /** The offers of each build request, so that its end withdraws them. */
  private readonly byBuild = new Map<string, Set<string>>();

  saveState(): unknown {
    return { workers: this.workers.saveState(), offers: this.offers, byBuild: this.byBuild };
  }

  restoreState(state: unknown): void {
    const saved = stateObject(this.name, state, ["workers", "offers", "byBuild"]);
    this.workers.restoreState(this.name, saved.workers);
    refill(this.name, this.offers, saved.offers);
    refill(this.name, this.byBuild, saved.byBuild);
  }

  apply(event: BuildEvent): void {
    const p = event.event;
    const id = event.jobRunId;
    if (endsBuildRequest(event)) {
      // Offers nobody took are withdrawn; taken ones end with their own job.exec events.
      for (const runId of this.byBuild.get(event.buildRequestId) ?? []) {
        const offer = this.offers.get(runId);
        if (offer && offer.takenBy === undefined) this.end(offer);
      }
      return;
    }
    switch (p.case) {
      case "jobRunOffered": {
        const request = p.value.request;
        if (!request || this.offers.has(id)) return;
        this.offers.set(id, {
          jobRunId: id,
          buildRequestId: event.buildRequestId,
          request,
          requires: { labels: { ...p.value.requires?.labels }, slots: Math.max(1, p.value.requires?.slots ?? 1) },
          offeredMs: event.timestamp ? timestampMs(event.timestamp) : 0,
          takenBy: undefined,
          cancelled: false,
          validated: false,
          launched: false,
          failed: false,
          pid: 0,
          hostname: "",
        });
        const ids = this.byBuild.get(event.buildRequestId) ?? new Set<string>();
        this.byBuild.set(event.buildRequestId, ids.add(id));
        return;
      }
      case "jobRunTaken": {
        const offer = this.offers.get(id);
        if (!offer || offer.takenBy !== undefined || offer.cancelled) return;
        offer.takenBy = p.value.workerId;
        this.workers.apply(event);
        return;
      }
      case "workerLost": {
        for (const runId of p.value.lostJobRunIds) {
          const offer = this.offers.get(runId);
          if (offer) this.end(offer);
        }
        this.workers.apply(event);
        return;
      }
      case "jobCancels":
        for (const runId of p.value.jobRunIds) {
          const offer = this.offers.get(runId);
          if (!offer) continue;
          offer.cancelled = true;
          if (offer.takenBy === undefined) this.end(offer);
        }
        return;
      case "configValidateSuccess":
        this.step(id, event, (offer) => (offer.validated = true));
        return;
      case "taskLaunchSuccess":
        this.step(id, event, (offer) => {
          offer.launched = true;
          offer.pid = p.value.pid;
          offer.hostname = p.value.hostname;
        });
        return;
      case "configValidateFail":
      case "taskLaunchFail":
      case "taskFailed":
        this.step(id, event, (offer) => (offer.failed = true));
        return;
      case "partitionManifest":
      case "jobExecFail": {
        const offer = this.offers.get(id);
        if (offer) this.end(offer);
        return;
      }
      default:
        this.workers.apply(event);
    }
  }

  offer(jobRunId: string): Offer | undefined {
    return this.offers.get(jobRunId);
  }

  /** Offers no worker took yet, oldest first. */
  *untaken(): IterableIterator<Offer> {
    for (const offer of this.offers.values()) if (offer.takenBy === undefined && !offer.cancelled) yield offer;
  }

  /** The offers `workerId` took that have not ended. */
  heldBy(workerId: string): Offer[] {
    const runs = this.workers.worker(workerId)?.runs ?? new Set<string>();
    return [...runs].flatMap((id) => {
      const offer = this.offers.get(id);
      return offer ? [offer] : [];
    });
  }

  /** A step of a taken run: the worker running it is alive. */
  private step(id: string, event: BuildEvent, update: (offer: Offer) => void): void {
    const offer = this.offers.get(id);
    if (!offer) return;
    update(offer);
    const worker = offer.takenBy === undefined ? undefined : this.workers.worker(offer.takenBy);
    if (worker && !worker.ended && event.timestamp)
      worker.lastSeenMs = Math.max(worker.lastSeenMs, timestampMs(event.timestamp));
  }

  private end(offer: Offer): void {
    this.offers.delete(offer.jobRunId);
    this.workers.runEnded(offer.jobRunId);
    const ids = this.byBuild.get(offer.buildRequestId);
    ids?.delete(offer.jobRunId);
    if (ids?.size === 0) this.byBuild.delete(offer.buildRequestId);
  }
}

/** Whether a worker with `labels` and `freeSlots` can run a job that `requires` this. */
export function canRun(requires: Requirements, labels: Readonly<Record<string, string>>, freeSlots: number): boolean {
  if (requires.slots > freeSlots) return false;
  return Object.entries(requires.labels).every(([key, value]) => labels[key] === value);
}
