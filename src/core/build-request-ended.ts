/**
 * @module The one definition of "this build request has ended" (glossary:
 * docs/architecture.md). A build request ends with its final status
 * (COMPLETED, FAILED, CANCELLED, or LOST), or when another build request
 * declares it lost (`buildRequestLost`, recorded under the lost request's
 * id, in the same transaction as its LOST status). Whatever it records after
 * that changes nothing: its claims are gone, and a request that was only
 * paused records no more than the cancels of its own jobs when it wakes up.
 * Everything that asks whether a build request is over (the claim book,
 * `events --follow --build`, `builds`, `explain`, the event-order check)
 * asks these functions.
 */
import { BuildRequestStatus, type BuildEvent } from "../gen/databuild_pb.ts";

const FINAL_STATUSES: ReadonlySet<BuildRequestStatus> = new Set([
  BuildRequestStatus.BUILD_REQUEST_COMPLETED,
  BuildRequestStatus.BUILD_REQUEST_FAILED,
  BuildRequestStatus.BUILD_REQUEST_CANCELLED,
  BuildRequestStatus.BUILD_REQUEST_LOST,
]);

/** Whether a build request whose latest status is `status` has ended (a read model's view of it). */
export function isFinalBuildRequestStatus(status: BuildRequestStatus): boolean {
  return FINAL_STATUSES.has(status);
}

/** Whether `event` ends the build request it is recorded under (`event.buildRequestId`). */
export function endsBuildRequest(event: BuildEvent): boolean {
  const payload = event.event;
  return (
    payload.case === "buildRequestLost" ||
    (payload.case === "buildRequestStatusChanged" && isFinalBuildRequestStatus(payload.value.status))
  );
}
