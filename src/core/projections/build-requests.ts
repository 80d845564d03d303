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
];

export class BuildRequests implements ReadModel {
  readonly name = "build-requests";
  readonly version = 1;
  readonly kinds = BUILD_REQUEST_KINDS;
  private readonly requests = new Map<string, BuildRequestView>();

  saveState(): unknown {
    return { requests: this.requests };
  }

  restoreState(state: unknown): void {
    refill(this.name, this.requests, stateObject(this.name, state, ["requests"]).requests);
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
        }),
      );
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

  /** All build requests, oldest first. */
  all(): BuildRequestView[] {
    return [...this.requests.values()];
  }
}
