/**
 * @module The RPCs that change the log: RequestBuild, CancelBuildRequest and
 * Invalidate. Each validates everything before it writes, and records the
 * caller's token name as the requester. A want_key is decided inside one
 * atomic append, so two replicas racing on one key make one build request.
 */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import {
  BuildRequestStatus,
  BuildRequestViewSchema,
  InvalidateResponseSchema,
  PartitionRefSchema,
  PartitionStatus,
  type BuildOptions,
  type BuildRequestView,
  type CancelBuildRequestRequest,
  type CancelBuildRequestResponse,
  type InvalidateRequest,
  type InvalidateResponse,
  type PartitionRef,
  type RequestBuildRequest,
  type RequestBuildResponse,
} from "../gen/databuild_pb.ts";
import { eventPayload } from "../core/build-event.ts";
import { isDatabuildError } from "../core/errors.ts";
import type { EventLog } from "../core/event-log.ts";
import type { Graph } from "../core/graph.ts";
import { newId } from "../core/ids.ts";
import { newEvent } from "../core/new-event.ts";
import { refProblem } from "../core/partition-ref.ts";
import { decideInvalidation, SHARED_VIEW_FILTER } from "../coordination/index.ts";
import { buildRequestReceivedPayload } from "../executor/build-graph.ts";
import { DEFAULT_BUILD_REQUEST, type BuildRequest } from "../executor/build-request.ts";
import { principalOf } from "./auth.ts";
import type { BuildHost } from "./build-host.ts";
import type { LiveLog } from "./reads/index.ts";

/** The build options a request leaves at 0 (the service's flags). */
export interface BuildDefaults {
  readonly parallel: number;
  readonly retries: number;
  readonly heartbeatMs: number;
  readonly heartbeatTimeoutMs: number;
}

export interface WriteRpcDeps {
  readonly log: EventLog;
  readonly live: LiveLog;
  readonly graph: Graph;
  readonly host: BuildHost;
  readonly defaults: BuildDefaults;
}

export function invalidArgument(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

/** The refs' strings; invalid_argument naming the first malformed one, its field and index. */
export function validRefs(refs: readonly PartitionRef[], field: string): string[] {
  if (refs.length === 0) throw invalidArgument(`${field}: at least one partition ref is required`);
  return refs.map((ref, i) => {
    const problem = refProblem(ref.str);
    if (problem)
      throw invalidArgument(`${field}[${i}]: malformed partition ref ${JSON.stringify(ref.str)}: ${problem}`);
    return ref.str;
  });
}

/** The BuildRequest a RequestBuild asks for, with the service's defaults for what it leaves at 0. */
export function buildRequestOf(
  refs: readonly string[],
  options: BuildOptions | undefined,
  defaults: BuildDefaults,
  requester: string,
): BuildRequest {
  const heartbeatMs = options?.heartbeatIntervalMs || defaults.heartbeatMs;
  const heartbeatTimeoutMs = options?.heartbeatTimeoutMs || defaults.heartbeatTimeoutMs;
  if (heartbeatTimeoutMs <= heartbeatMs)
    throw invalidArgument(
      `options.heartbeat_timeout_ms (${heartbeatTimeoutMs}) must be longer than options.heartbeat_interval_ms (${heartbeatMs})`,
    );
  if (options?.dryRun)
    throw invalidArgument(
      "options.dry_run: a dry run records nothing, so there is no build request to return; run `databuild build --dry-run` instead",
    );
  return {
    ...DEFAULT_BUILD_REQUEST,
    refs: [...new Set(refs)],
    parallel: options?.parallel || defaults.parallel,
    keepGoing: options?.keepGoing ?? false,
    force: options?.force ?? false,
    retries: defaults.retries,
    heartbeatMs,
    heartbeatTimeoutMs,
    requester,
  };
}

export function writeRpcs(deps: WriteRpcDeps) {
  const { log, live, graph, host, defaults } = deps;

  /** The build request that carries on `id` now: itself, or the successor of the successor... of a lost one. */
  const current = (id: string): string => {
    const seen = new Set<string>();
    let view = live.builds.get(id);
    while (view?.continuedBy && !seen.has(view.buildRequestId)) {
      seen.add(view.buildRequestId);
      view = live.builds.get(view.continuedBy) ?? view;
      if (view.buildRequestId === id) break;
    }
    return view?.buildRequestId ?? id;
  };

  return {
    async requestBuild(req: RequestBuildRequest, context: HandlerContext): Promise<RequestBuildResponse> {
      const principal = principalOf(context);
      const refs = validRefs(req.partitions, "partitions");
      try {
        graph.lookup(refs);
      } catch (error) {
        if (!isDatabuildError(error)) throw error;
        // Name the field of the first ref at fault, as a malformed ref is named.
        const at = refs.findIndex((ref) => {
          try {
            graph.lookup([ref]);
            return false;
          } catch {
            return true;
          }
        });
        throw invalidArgument(`partitions${at >= 0 ? `[${at}]` : ""}: ${error.message}`);
      }
      const buildRequestId = newId();
      const request = {
        ...buildRequestOf(refs, req.options, defaults, principal.name),
        buildRequestId,
        received: { wantKey: req.wantKey, origin: "service" },
      };
      const received = newEvent({ buildRequestId }, buildRequestReceivedPayload(graph.label, request));
      if (req.wantKey === "") await log.append([received]);
      else {
        // Decided on what the live log holds plus every build request logged after it, under the log's lock.
        const { result } = await log.appendAtomically(live.cursor, { kinds: ["buildRequestReceived"] }, (events) => {
          const known =
            live.builds.withWantKey(req.wantKey)?.buildRequestId ??
            events.find(
              (e) => e.event.event.case === "buildRequestReceived" && e.event.event.value.wantKey === req.wantKey,
            )?.event.buildRequestId;
          return known === undefined ? { append: [received], result: undefined } : { append: [], result: known };
        });
        if (result !== undefined) {
          await live.caughtUpTo(await log.head());
          return { $typeName: "databuild.v1.RequestBuildResponse", buildRequestId: current(result), existing: true };
        }
      }
      void host.run(request);
      return { $typeName: "databuild.v1.RequestBuildResponse", buildRequestId, existing: false };
    },

    async cancelBuildRequest(
      req: CancelBuildRequestRequest,
      context: HandlerContext,
    ): Promise<CancelBuildRequestResponse> {
      const principal = principalOf(context);
      const build = await findBuildRequest(log, live, req.buildRequestId);
      if (live.builds.ended(build.buildRequestId))
        throw new ConnectError(
          `build request ${build.buildRequestId} has ended (${statusName(build.status)}): there is nothing to cancel`,
          Code.FailedPrecondition,
        );
      const [offset] = await log.append([
        newEvent(
          { buildRequestId: build.buildRequestId },
          eventPayload("cancelRequested", { requestedBy: principal.name, reason: "CancelBuildRequest" }),
        ),
      ]);
      // A build waiting for a slot here starts at once, to notice the cancel and end.
      host.expedite(build.buildRequestId);
      await live.caughtUpTo(offset!);
      const after = live.builds.get(build.buildRequestId) ?? build;
      return {
        $typeName: "databuild.v1.CancelBuildRequestResponse",
        buildRequest: create(BuildRequestViewSchema, after),
      };
    },

    async invalidate(req: InvalidateRequest, context: HandlerContext): Promise<InvalidateResponse> {
      const principal = principalOf(context);
      const refs = [...new Set(validRefs(req.partitions, "partitions"))];
      const view = live.view;
      const request = { refs, downstream: req.downstream, reason: req.reason, requester: principal.name, id: newId() };
      // Decided inside the append (as `databuild invalidate`): no build can claim a partition in between.
      // The live view takes in what the transaction read; the LiveLog skips what its view already holds.
      const { result: decision } = await log.appendAtomically(view.cursor, SHARED_VIEW_FILTER, (events) => {
        view.apply(events);
        const decided = decideInvalidation(view, request);
        return { append: decided.events, result: decided };
      });
      if (decision.neverBuilt.length > 0)
        throw new ConnectError(
          `partitions: cannot invalidate ${decision.neverBuilt.join(", ")}: never built; nothing was invalidated`,
          Code.FailedPrecondition,
        );
      if (decision.busy.length > 0)
        throw new ConnectError(
          `partitions: cannot invalidate while a build is producing ${decision.busy
            .map(({ ref, holder }) => `${ref} (build request ${holder.buildRequestId})`)
            .join(", ")}; nothing was invalidated`,
          Code.FailedPrecondition,
        );
      const ref = (str: string) => create(PartitionRefSchema, { str });
      return create(InvalidateResponseSchema, {
        invalidationId: request.id,
        invalidated: decision.invalidated.map((i) => ref(i.ref)),
        details: decision.invalidated.map((i) => ({
          partition: ref(i.ref),
          builtFrom: i.builtFrom === undefined ? undefined : ref(i.builtFrom),
        })),
        alreadyInvalidated: decision.already.map(ref),
        notAvailable: decision.notAvailable.map((n) => ({ partitionRef: ref(n.ref), status: n.status })),
        skipped: [
          ...decision.already.map((r) => `${r}: already invalidated`),
          ...decision.notAvailable.map((n) => `${n.ref}: not available (${PartitionStatus[n.status]})`),
        ],
      });
    },
  };
}

function statusName(status: BuildRequestStatus): string {
  return (BuildRequestStatus[status] ?? "UNSPECIFIED").replace(/^BUILD_REQUEST_/, "");
}

/** The build request `part` names (its id, or a prefix or suffix of one), as the live log knows it once caught up. */
async function findBuildRequest(log: EventLog, live: LiveLog, part: string): Promise<BuildRequestView> {
  if (part === "") throw invalidArgument("build_request_id is required");
  let matches = live.builds.matching(part);
  if (matches.length === 0) {
    // Perhaps made on another replica a moment ago.
    await live.caughtUpTo(await log.head());
    matches = live.builds.matching(part);
  }
  if (matches.length === 0) throw new ConnectError(`no build request with id ${JSON.stringify(part)}`, Code.NotFound);
  if (matches.length > 1)
    throw invalidArgument(
      `build_request_id ${JSON.stringify(part)} is ambiguous: ${matches
        .slice(0, 5)
        .map((m) => m.buildRequestId)
        .join(", ")}`,
    );
  return matches[0]!;
}
