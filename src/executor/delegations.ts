/**
 * @module Partitions a build waits on while other build requests build them
 * (delegated to them): it follows the log while any are awaited; each
 * becomes available, fails in its holder, gets a new holder (a new
 * delegation event), or is let go of (released, or its holder ended or was
 * declared lost), and then this build takes it over: plans and claims it
 * and adds the tasks to its plan. Delegates that stop heartbeating, or
 * whose process is gone, are declared lost. A cancelled build takes nothing
 * over: what waited on a let-go partition is released.
 */
import { DelegationReason, PartitionStatus } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import { AnalyzeError } from "../core/errors.ts";
import type { EventLog, LoggedEvent } from "../core/event-log.ts";
import {
  declareLost,
  planAndClaim,
  SHARED_VIEW_FILTER,
  whyLost,
  type ClaimPlanContext,
  type SharedView,
} from "../coordination/index.ts";
import type { DelegateFailure } from "./build-request.ts";
import type { Cancellation } from "./cancellation.ts";
import type { RunState } from "./run-state.ts";

/** How often delegates' liveness is checked while this build waits on them. */
export const LIVENESS_CHECK_MS = 250;

export interface DelegationsContext {
  readonly state: RunState;
  readonly cancellation: Cancellation;
  readonly log: EventLog;
  readonly view: SharedView;
  /** Planning and claiming a takeover (its host also answers for delegates' liveness). */
  readonly claimContext: ClaimPlanContext;
  readonly keepGoing: boolean;
  /** Another build request declared this one lost (its `buildRequestLost` was read). */
  readonly onDeclaredLost: (detectedBy: string, reason: string) => void;
}

export class Delegations {
  /** The build request each awaited partition is delegated to (as last recorded). */
  private readonly delegatedTo: Map<string, string>;
  /** Delegated partitions their holder failed. */
  readonly failures: DelegateFailure[] = [];
  /** Awaited partitions that another build request delivered, and those this build took over. */
  readonly deliveredByOthers = new Set<string>();
  readonly takenOver = new Set<string>();
  private takingOver = false;
  /** Delegates being declared lost right now (one transaction each, not one per liveness tick). */
  private readonly declaring = new Set<string>();
  private stopWatch: (() => void) | undefined;
  private lastLivenessCheck = 0;

  constructor(
    private readonly ctx: DelegationsContext,
    delegated: ReadonlyMap<string, string>,
  ) {
    this.delegatedTo = new Map(delegated);
  }

  private get me(): string {
    return this.ctx.state.buildRequestId;
  }

  /** Follows the log while partitions are awaited from other build requests. */
  follow(): void {
    const { state, cancellation, view } = this.ctx;
    if (state.plan.externalCount === 0 || cancellation.stopping) {
      // Nothing awaited: stop decoding the log (a takeover catches up before it plans).
      this.stopWatch?.();
      this.stopWatch = undefined;
      return;
    }
    this.stopWatch ??= this.ctx.log.watch(
      view.cursor,
      (events) => {
        this.onFresh(view.apply(events));
        state.waker.notify();
      },
      SHARED_VIEW_FILTER,
    );
    if (Date.now() - this.lastLivenessCheck >= LIVENESS_CHECK_MS) {
      this.lastLivenessCheck = Date.now();
      this.checkDelegatesAlive();
    }
  }

  /** Stops following the log (the build is over). */
  stop(): void {
    this.stopWatch?.();
  }

  /** Reacts to events other build requests logged (already applied to the view), in log order. */
  onFresh(events: readonly LoggedEvent[]): void {
    const { plan } = this.ctx.state;
    for (const { event } of events) {
      const e = event.event;
      if (e.case === "buildRequestLost" && event.buildRequestId === this.me) {
        this.ctx.onDeclaredLost(e.value.detectedByBuildRequestId, e.value.reason);
      }
      if (event.buildRequestId === this.me) continue;
      if (e.case === "partitionManifest") {
        for (const output of e.value.outputs) this.externalAvailable(output.str);
      } else if (e.case === "partitionStatusChanged" && e.value.status === PartitionStatus.PARTITION_FAILED) {
        const ref = e.value.partitionRef?.str ?? "";
        // A lost build's partitions are taken over, not failed.
        if (plan.isPendingExternal(ref) && !this.ctx.view.claims.lease(event.buildRequestId)?.lost)
          this.externalFailed(ref, event.buildRequestId, e.value.message);
      }
    }
    this.checkExternals();
  }

  private externalAvailable(ref: string): void {
    const { plan } = this.ctx.state;
    if (!plan.isPendingExternal(ref)) return;
    this.deliveredByOthers.add(ref);
    plan.externalAvailable(ref);
    this.delegatedTo.delete(ref);
  }

  private externalFailed(ref: string, delegate: string, message: string): void {
    const { state } = this.ctx;
    const blocked = state.plan.externalFailed(ref);
    this.delegatedTo.delete(ref);
    this.failures.push({ ref, delegateBuildRequestId: delegate, message });
    const reason = `${ref} failed in build request ${delegate}${message ? ` (${message})` : ""}`;
    for (const b of blocked) state.blockedBy.set(b, reason);
    if (!this.ctx.keepGoing)
      this.ctx.cancellation.cancelAll(`${ref}, delegated to build request ${delegate}, failed`, false);
  }

  /**
   * For each awaited partition: still held by another live build request (a
   * new holder gets a new delegation event), available, or let go of, in
   * which case this build takes it over.
   */
  private checkExternals(): void {
    const { state, view, cancellation } = this.ctx;
    const { plan } = state;
    if (plan.externalCount === 0) return;
    const orphaned: string[] = [];
    for (const ref of plan.pendingExternals()) {
      const owner = view.claims.ownerOf(ref);
      if (owner && owner.buildRequestId !== this.me) {
        if (this.delegatedTo.get(ref) !== owner.buildRequestId) {
          this.delegatedTo.set(ref, owner.buildRequestId);
          state.emit(
            payload("partitionDelegated", {
              partitionRef: { str: ref },
              delegateBuildRequestId: owner.buildRequestId,
              reason: DelegationReason.IN_PROGRESS,
            }),
          );
        }
      } else if (view.catalog.available(ref)) {
        this.externalAvailable(ref);
      } else {
        orphaned.push(ref);
      }
    }
    if (orphaned.length === 0) return;
    if (!cancellation.cancelled) {
      if (!this.takingOver) void this.takeOver(orphaned);
      return;
    }
    // Cancelled: no takeover. What waited on them cannot be finished here; let it go.
    const released: string[] = [];
    for (const ref of orphaned)
      for (const task of plan.externalFailed(ref))
        for (const o of plan.tasks[task]!.config!.outputs) released.push(o.str);
    if (released.length > 0)
      state.emit(
        payload("partitionsReleased", { partitions: released.map((str) => ({ str })), reason: cancellation.reason }),
      );
  }

  /** Plans and claims partitions whose holder let them go (released, ended or lost), and adds the tasks. */
  private async takeOver(refs: string[]): Promise<void> {
    const { state } = this.ctx;
    const { plan } = state;
    this.takingOver = true;
    state.busy++;
    try {
      const claimed = await planAndClaim(this.ctx.claimContext, refs, { planned: (r) => plan.producerOf.has(r) });
      const first = plan.size;
      const blocked = plan.addTasks(claimed.jobGraph, new Set(claimed.delegated.keys()));
      for (const ref of refs) if (plan.producerOf.has(ref)) this.takenOver.add(ref);
      for (let i = first; i < plan.size; i++) state.attempts.push(0);
      for (const b of blocked) state.blockedBy.set(b, "an input failed earlier in this build");
      for (const [ref, owner] of claimed.delegated) {
        this.delegatedTo.set(ref, owner);
      }
      this.takingOver = false;
      this.onFresh(claimed.fresh);
    } catch (error) {
      if (!(error instanceof AnalyzeError)) {
        state.fatal = error;
      } else {
        for (const ref of refs)
          if (plan.isPendingExternal(ref))
            this.externalFailed(ref, this.me, `planning its takeover failed: ${error.message}`);
      }
    } finally {
      this.takingOver = false;
      state.busy--;
      state.waker.notify();
    }
  }

  /** Declares delegates that stopped heartbeating (or whose process is gone) lost. */
  private checkDelegatesAlive(): void {
    const { state, view, log } = this.ctx;
    const host = this.ctx.claimContext.host;
    const now = Date.now();
    for (const owner of new Set(this.delegatedTo.values())) {
      if (this.declaring.has(owner)) continue;
      const lease = view.claims.lease(owner);
      if (!lease || !whyLost(view.claims, lease, now, host)) continue;
      this.declaring.add(owner);
      state.busy++;
      declareLost(log, view, this.me, owner, host)
        .then((fresh) => this.onFresh(fresh))
        .catch((error: unknown) => (state.fatal ??= error))
        .finally(() => {
          this.declaring.delete(owner);
          state.busy--;
          state.waker.notify();
        });
    }
  }
}
