/**
 * @module Continuing the service's build requests whose replica died or shut
 * down (SPEC 3.7, replicas). Every replica looks, every few seconds, at the
 * live log's leases: a service or trigger build request that is gone
 * (liveness.ts: its process on this host is gone, or its lease ran out) is
 * declared lost (once, atomically: `declareLost`); then a lost one nobody
 * has continued is adopted: in one atomic append, BuildRequestAdopted (in
 * the lost build request's scope) and the successor's BuildRequestReceived
 * (same partitions, options and requester; `continues_build_request_id`),
 * so at most one replica adopts it. The successor then runs here. A CLI
 * build request is never adopted: its user is there to run it again.
 *
 * The live view is shared with the LiveLog: what an atomic append reads is
 * applied to it there and then, and the LiveLog skips what its view holds.
 */
import type { BuildEvent, BuildRequestView } from "../gen/databuild_pb.ts";
import { eventPayload } from "../core/build-event.ts";
import type { EventLog } from "../core/event-log.ts";
import type { Graph } from "../core/graph.ts";
import { newId } from "../core/ids.ts";
import { newEvent } from "../core/new-event.ts";
import { isAdoptable } from "../core/adoptable.ts";
import {
  declareLost,
  goneBuildRequests,
  lostBuildEvents,
  PROC_HOST,
  SHARED_VIEW_FILTER,
  type HostProcesses,
} from "../coordination/index.ts";
import { buildRequestReceivedPayload } from "../executor/build-graph.ts";
import { DEFAULT_BUILD_REQUEST, type BuildRequest } from "../executor/build-request.ts";
import type { LiveLog } from "./reads/index.ts";
import type { ServiceLogger } from "./service-logger.ts";
import type { BuildDefaults } from "./write-rpcs.ts";

export interface AdoptionOptions {
  readonly log: EventLog;
  readonly live: LiveLog;
  readonly graph: Graph;
  readonly replicaId: string;
  readonly defaults: BuildDefaults;
  /** Runs an adopted build request (its BuildRequestReceived is logged). */
  readonly run: (request: BuildRequest & { buildRequestId: string }) => void;
  readonly logger: ServiceLogger;
  readonly host?: HostProcesses;
  readonly intervalMs?: number;
}

export class Adopter {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: AdoptionOptions) {}

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pass()
        .catch((error: unknown) =>
          this.options.logger.warn({ event: "adoption_failed", err: error }, "looking for lost build requests failed"),
        )
        .finally(() => {
          this.running = undefined;
          this.schedule(this.options.intervalMs ?? 2_000);
        });
    }, ms);
    this.timer.unref();
  }

  /** One look: declare the gone ones lost, then adopt the lost ones nobody continued. */
  async pass(): Promise<void> {
    const { live, log } = this.options;
    const host = this.options.host ?? PROC_HOST;
    await live.caughtUpTo(await log.head());
    const me = `replica ${this.options.replicaId}`;
    for (const lease of goneBuildRequests(live.claims, me, Date.now(), host)) {
      if (this.stopped) return;
      if (!isAdoptable(live.builds.get(lease.buildRequestId))) continue;
      // Ours: this process runs it, however late its heartbeat (a busy event loop while many builds plan).
      if (lease.hostname === host.hostname && lease.pid === host.pid) continue;
      await declareLost(log, live.view, me, lease.buildRequestId, host);
    }
    for (const build of live.builds.all()) {
      if (this.stopped) return;
      if (!isAdoptable(build) || build.continuedBy !== "" || !live.claims.lease(build.buildRequestId)?.lost) continue;
      await this.adopt(build.buildRequestId);
    }
  }

  /** Adopts `lostId` unless another replica did first; runs the successor here. */
  private async adopt(lostId: string): Promise<void> {
    const { log, live, graph, replicaId } = this.options;
    const view = live.view;
    const successorId = newId();
    let request: (BuildRequest & { buildRequestId: string }) | undefined;
    await log.appendAtomically(view.cursor, SHARED_VIEW_FILTER, (events) => {
      view.apply(events);
      request = undefined;
      const lost = view.builds.get(lostId);
      if (!lost || lost.continuedBy !== "") return { append: [], result: undefined };
      request = successorOf(lost, successorId, this.options.defaults);
      const append: BuildEvent[] = [
        newEvent(
          { buildRequestId: lostId },
          eventPayload("buildRequestAdopted", {
            lostBuildRequestId: lostId,
            successorBuildRequestId: successorId,
            adoptedBy: replicaId,
          }),
        ),
        newEvent({ buildRequestId: successorId }, buildRequestReceivedPayload(graph.label, request)),
      ];
      return { append, result: undefined };
    });
    if (!request) return;
    this.options.logger.info(
      { event: "build_adopted", lostBuildRequestId: lostId, buildRequestId: successorId },
      `continuing lost build request ${lostId} as ${successorId}`,
    );
    this.options.run(request);
  }
}

/** The build request that continues `lost`: the same partitions, options and requester. */
function successorOf(lost: BuildRequestView, buildRequestId: string, defaults: BuildDefaults) {
  const options = lost.options;
  return {
    ...DEFAULT_BUILD_REQUEST,
    refs: lost.requestedPartitions.map((p) => p.str),
    parallel: options?.parallel || defaults.parallel,
    keepGoing: options?.keepGoing ?? false,
    force: options?.force ?? false,
    retries: defaults.retries,
    heartbeatMs: options?.heartbeatIntervalMs || defaults.heartbeatMs,
    heartbeatTimeoutMs: options?.heartbeatTimeoutMs || defaults.heartbeatTimeoutMs,
    requester: lost.requester,
    buildRequestId,
    received: { origin: lost.origin, trigger: lost.trigger, continuesBuildRequestId: lost.buildRequestId },
  };
}

/**
 * Declares this replica's own unfinished build requests lost at shutdown
 * ("replica shut down"), releasing their claims, so another replica adopts
 * them at once instead of waiting for their leases to run out. Decided on
 * the log as it is (each may just have ended). Returns the ids declared.
 */
export async function declareOwnLost(log: EventLog, live: LiveLog, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const view = live.view;
  const declared: string[] = [];
  await log.appendAtomically(view.cursor, SHARED_VIEW_FILTER, (events) => {
    view.apply(events);
    const append: BuildEvent[] = [];
    declared.length = 0;
    for (const id of ids) {
      const lease = view.claims.lease(id);
      if (!lease || lease.ended) continue;
      append.push(...lostBuildEvents(lease, id, "replica shut down", Date.now()));
      declared.push(id);
    }
    return { append, result: undefined };
  });
  return declared;
}
