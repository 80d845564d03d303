/**
 * @module What `databuild invalidate` would mark invalid, decided on the
 * shared view inside the atomic append (so no build can claim a partition
 * between the check and the write), and the events that record it.
 */
import { PartitionStatus, type BuildEvent } from "../gen/databuild_pb.ts";
import { eventPayload } from "../core/build-event.ts";
import { newEvent } from "../core/new-event.ts";
import type { Lease } from "../core/projections/claims.ts";
import type { SharedView } from "./shared-view.ts";

export interface InvalidationRequest {
  readonly refs: readonly string[];
  readonly downstream: boolean;
  readonly reason: string;
  readonly requester: string;
  /** The invalidation's id, recorded as the events' build_request_id. */
  readonly id: string;
}

export interface InvalidationDecision {
  /** Requested refs no manifest in the log produced: the request is refused. */
  readonly neverBuilt: string[];
  /** Partitions to invalidate that a live build request holds: the request is refused. */
  readonly busy: { ref: string; holder: Lease }[];
  /** What gets invalidated; `builtFrom` names the upstream partition for downstream ones. */
  readonly invalidated: { ref: string; builtFrom?: string }[];
  /** Requested refs that are already invalidated. */
  readonly already: string[];
  /** Requested refs built once but not available now (failed, being rebuilt): a build rebuilds them anyway. */
  readonly notAvailable: { ref: string; status: PartitionStatus }[];
  /** The events to append (none when refused or when nothing is left to invalidate). */
  readonly events: BuildEvent[];
}

export function decideInvalidation(view: SharedView, request: InvalidationRequest): InvalidationDecision {
  const { catalog, claims } = view;
  const decision: InvalidationDecision = {
    neverBuilt: [],
    busy: [],
    invalidated: [],
    already: [],
    notAvailable: [],
    events: [],
  };
  const chosen = new Set<string>();
  const roots: string[] = [];
  for (const ref of request.refs) {
    const status = catalog.get(ref);
    const holder = claims.ownerOf(ref);
    // Held first: a partition being built for the first time is busy rather than unknown.
    if (holder) decision.busy.push({ ref, holder });
    else if (!status?.built) decision.neverBuilt.push(ref);
    else if (status.status === PartitionStatus.PARTITION_INVALIDATED) decision.already.push(ref);
    else if (status.status !== PartitionStatus.PARTITION_AVAILABLE)
      decision.notAvailable.push({ ref, status: status.status });
    else if (!chosen.has(ref)) {
      chosen.add(ref);
      decision.invalidated.push({ ref });
    }
    roots.push(ref);
  }
  if (request.downstream) {
    // Lineage runs from inputs to outputs only in reverse: index the
    // manifests of what is available now by their MATERIALIZE inputs.
    const builtFrom = new Map<string, string[]>();
    for (const [ref, entry] of catalog.entries()) {
      if (entry.status !== PartitionStatus.PARTITION_AVAILABLE || !entry.built) continue;
      for (const input of entry.built.inputs) {
        if (!input.materialize || !input.ref) continue;
        const list = builtFrom.get(input.ref) ?? [];
        builtFrom.set(input.ref, list);
        list.push(ref);
      }
    }
    const queue = [...roots];
    const visited = new Set(queue);
    for (let i = 0; i < queue.length; i++) {
      for (const child of builtFrom.get(queue[i]!) ?? []) {
        if (visited.has(child)) continue;
        visited.add(child);
        queue.push(child);
        if (!chosen.has(child)) {
          chosen.add(child);
          decision.invalidated.push({ ref: child, builtFrom: queue[i]! });
        }
      }
    }
  }
  for (const { ref, builtFrom } of decision.invalidated) {
    const holder = builtFrom === undefined ? undefined : claims.ownerOf(ref);
    if (holder) decision.busy.push({ ref, holder });
  }
  if (decision.neverBuilt.length > 0 || decision.busy.length > 0 || decision.invalidated.length === 0) return decision;

  const scope = { buildRequestId: request.id };
  const by = `invalidated by ${request.requester}`;
  decision.events.push(
    newEvent(
      scope,
      eventPayload("partitionsInvalidated", {
        requested: request.refs.map((str) => ({ str })),
        downstream: request.downstream,
        reason: request.reason,
        requester: request.requester,
        partitionsInvalidated: decision.invalidated.length,
      }),
    ),
  );
  for (const { ref, builtFrom } of decision.invalidated) {
    const why = builtFrom
      ? `: built from ${builtFrom}${request.reason ? ` (${request.reason})` : ""}`
      : request.reason
        ? `: ${request.reason}`
        : "";
    decision.events.push(
      newEvent(
        scope,
        eventPayload("partitionStatusChanged", {
          partitionRef: { str: ref },
          status: PartitionStatus.PARTITION_INVALIDATED,
          message: by + why,
        }),
      ),
    );
  }
  return decision;
}
