/**
 * @module Cancelling a build (Ctrl-C, or a failure without keepGoing) while
 * other build requests wait on it: the tasks producing partitions delegated
 * to it, and everything upstream of them in its plan, keep running (and
 * start) until done and recorded; every other running job is cancelled and
 * every other claim released at once, so that the waiting build requests can
 * take it over.
 */
import { DelegationReason, DepType } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "../core/build-event.ts";
import type { EventLog } from "../core/event-log.ts";
import type { RunningJob } from "../core/job-runner.ts";
import type { SharedView } from "../coordination/index.ts";
import { TaskState } from "./build-plan.ts";
import type { RunState } from "./run-state.ts";

export class Cancellation {
  /** Why the build is stopping (set once: cancelled, a failure, declared lost); undefined while it is not. */
  reason: string | undefined;
  /** Cancelled by the user (the build ends CANCELLED rather than FAILED). */
  byUser = false;
  /** Tasks finished after the cancel because other build requests waited on them. */
  keptForWaiters = 0;
  /** Cancelled, but still building what other build requests wait on. */
  finishingForOthers = false;

  constructor(
    private readonly state: RunState,
    private readonly log: EventLog,
    private readonly view: SharedView,
  ) {}

  get cancelled(): boolean {
    return this.reason !== undefined;
  }

  /** Cancelled, with nothing to finish for others: start nothing more, follow nothing more. */
  get stopping(): boolean {
    return this.reason !== undefined && !this.finishingForOthers;
  }

  /**
   * Stops the build, except for what other live build requests wait on (see
   * the module comment).
   */
  cancelAll(reason: string, byUser: boolean): void {
    if (this.reason !== undefined) return;
    const { state } = this;
    const { plan } = state;
    this.reason = reason;
    this.byUser = byUser;
    state.busy++;
    this.waiters()
      .then((waitedOn) => {
        const keep = this.upstreamOf(waitedOn);
        const cancel: { jobRunId: string; handle: RunningJob }[] = [];
        for (const [index, job] of state.running) if (!keep.has(index)) cancel.push(job);
        if (cancel.length > 0) state.emit(payload("jobCancels", { jobRunIds: cancel.map((c) => c.jobRunId), reason }));
        for (const { handle } of cancel) handle.cancel(reason);
        const released: string[] = [];
        for (let i = 0; i < plan.size; i++) {
          const taskState = plan.stateOf(i);
          if (taskState !== TaskState.Waiting && taskState !== TaskState.Ready) continue;
          if (keep.has(i)) {
            this.keptForWaiters++;
            continue;
          }
          if (!state.blockedBy.has(i)) for (const o of plan.tasks[i]!.config!.outputs) released.push(o.str);
          plan.drop(i);
        }
        for (const index of state.running.keys()) if (keep.has(index)) this.keptForWaiters++;
        this.finishingForOthers = this.keptForWaiters > 0;
        if (released.length > 0)
          state.emit(payload("partitionsReleased", { partitions: released.map((str) => ({ str })), reason }));
      })
      .catch((error: unknown) => (state.fatal ??= error))
      .finally(() => {
        state.busy--;
        state.waker.notify();
      });
  }

  /** Declared lost: stop at once, finishing nothing for others (whoever took over builds it). */
  stopForLost(message: string): void {
    this.reason ??= message;
    this.finishingForOthers = false;
  }

  /** The unfinished tasks that produce `refs`, and every unfinished task upstream of them in this plan. */
  private upstreamOf(refs: ReadonlySet<string>): Set<number> {
    const { plan } = this.state;
    const keep = new Set<number>();
    const queue: number[] = [];
    const visit = (ref: string) => {
      const task = plan.producerOf.get(ref);
      if (task === undefined || keep.has(task)) return;
      const state = plan.stateOf(task);
      if (state === TaskState.Done || state === TaskState.Failed || state === TaskState.Blocked) return;
      keep.add(task);
      queue.push(task);
    };
    for (const ref of refs) visit(ref);
    for (let q = 0; q < queue.length; q++)
      for (const input of plan.tasks[queue[q]!]!.config!.inputs)
        if (input.depType !== DepType.QUERY) visit(input.partitionRef!.str);
    return keep;
  }

  /** Partitions of this build that other live build requests have delegated to it. */
  private async waiters(): Promise<Set<string>> {
    const me = this.state.buildRequestId;
    const waited = new Set<string>();
    const delegations = await this.log.read(this.view.cursor, { kinds: ["partitionDelegated"] });
    for (const { event } of delegations) {
      const d = event.event;
      if (d.case !== "partitionDelegated" || d.value.delegateBuildRequestId !== me) continue;
      if (d.value.reason !== DelegationReason.IN_PROGRESS) continue;
      if (this.view.claims.lease(event.buildRequestId)?.ended) continue;
      waited.add(d.value.partitionRef?.str ?? "");
    }
    for (const ref of this.state.plan.producerOf.keys())
      if (this.view.claims.waitersOn(me, ref).length > 0) waited.add(ref);
    return waited;
  }
}
