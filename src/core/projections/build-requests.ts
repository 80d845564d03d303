/**
 * @module Build requests as folded from the log: what was asked, by whom,
 * and how it went.
 */
import { create } from "@bufbuild/protobuf";
import { BuildRequestViewSchema, type BuildEvent, type BuildRequestView } from "../../gen/databuild_pb.ts";
import type { EventCase } from "../build-event.ts";
import { isFinalBuildRequestStatus } from "../build-request-ended.ts";
import { refill, stateObject, type ReadModel } from "../read-model.ts";

export const BUILD_REQUEST_KINDS: readonly EventCase[] = [
  "buildRequestReceived",
  "buildRequestStatusChanged",
  "partitionManifest",
  "jobFailure",
  "partitionDelegated",
  "buildRequestAdopted",
];

export class BuildRequests implements ReadModel {
  readonly name = "build-requests";
  readonly version = 2;
  readonly kinds = BUILD_REQUEST_KINDS;
  private readonly requests = new Map<string, BuildRequestView>();
  /** want_key → the build request that has it (the first one recorded). */
  private readonly wantKeys = new Map<string, string>();

  saveState(): unknown {
    return { requests: this.requests, wantKeys: this.wantKeys };
  }

  restoreState(state: unknown): void {
    const saved = stateObject(this.name, state, ["requests", "wantKeys"]);
    refill(this.name, this.requests, saved.requests);
    refill(this.name, this.wantKeys, saved.wantKeys);
  }

  apply(event: BuildEvent): void {
    const payload = event.event;
    if (payload.case === "buildRequestReceived") {
      this.requests.set(
        event.buildRequestId,
        create(BuildRequestViewSchema, {
          buildRequestId: event.buildRequestId,
          requestedPartitions: payload.value.requestedPartitions,
          requester: payload.value.requester,
          options: payload.value.options,
          graphLabel: payload.value.graphLabel,
          receivedAt: event.timestamp,
          updatedAt: event.timestamp,
          wantKey: payload.value.wantKey,
          origin: payload.value.origin,
          continuesBuildRequestId: payload.value.continuesBuildRequestId,
          trigger: payload.value.trigger,
        }),
      );
      if (payload.value.wantKey && !this.wantKeys.has(payload.value.wantKey))
        this.wantKeys.set(payload.value.wantKey, event.buildRequestId);
      return;
    }
    if (payload.case === "buildRequestAdopted") {
      const lost = this.requests.get(payload.value.lostBuildRequestId);
      if (lost) lost.continuedBy = payload.value.successorBuildRequestId;
      return;
    }
    const view = this.requests.get(event.buildRequestId);
    if (!view) return;
    switch (payload.case) {
      case "buildRequestStatusChanged":
        view.status = payload.value.status;
        view.message = payload.value.message;
        view.updatedAt = event.timestamp;
        break;
      case "partitionManifest":
        view.jobsSucceeded++;
        break;
      case "jobFailure":
        view.jobsFailed++;
        break;
      case "partitionDelegated":
        view.partitionsDelegated++;
        break;
    }
  }

  get(id: string): BuildRequestView | undefined {
    return this.requests.get(id);
  }

  /**
   * Whether the build request has ended (`isFinalBuildRequestStatus`). One
   * declared lost has ended too: its LOST status is recorded in the same
   * transaction as its `buildRequestLost`.
   */
  ended(id: string): boolean {
    const view = this.requests.get(id);
    return view !== undefined && isFinalBuildRequestStatus(view.status);
  }

  /** Build requests whose id starts or ends with `part` (a prefix, or the short id the CLI prints). */
  matching(part: string): BuildRequestView[] {
    const exact = this.requests.get(part);
    if (exact) return [exact];
    return [...this.requests.values()].filter(
      (r) => r.buildRequestId.startsWith(part) || r.buildRequestId.endsWith(part),
    );
  }

  /** The build request recorded with this want_key (RequestBuild's idempotency key). */
  withWantKey(wantKey: string): BuildRequestView | undefined {
    const id = this.wantKeys.get(wantKey);
    return id === undefined ? undefined : this.requests.get(id);
  }

  /** All build requests, oldest first. */
  all(): BuildRequestView[] {
    return [...this.requests.values()];
  }
}
