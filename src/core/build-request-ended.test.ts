import { describe, expect, it } from "vitest";
import { BuildRequestStatus, type BuildEvent } from "../gen/databuild_pb.ts";
import { endsBuildRequest, isFinalBuildRequestStatus } from "./build-request-ended.ts";
import { eventPayload as payload, type EventPayload } from "./build-event.ts";
import { newEvent } from "./new-event.ts";

const event = (p: EventPayload): BuildEvent => newEvent({ buildRequestId: "b" }, p);
const status = (s: BuildRequestStatus) => event(payload("buildRequestStatusChanged", { status: s }));

describe("endsBuildRequest", () => {
  it.each([
    [BuildRequestStatus.BUILD_REQUEST_COMPLETED, true],
    [BuildRequestStatus.BUILD_REQUEST_FAILED, true],
    [BuildRequestStatus.BUILD_REQUEST_CANCELLED, true],
    [BuildRequestStatus.BUILD_REQUEST_LOST, true],
    [BuildRequestStatus.BUILD_REQUEST_STATUS_UNSPECIFIED, false],
    [BuildRequestStatus.BUILD_REQUEST_RECEIVED, false],
    [BuildRequestStatus.BUILD_REQUEST_PLANNING, false],
    [BuildRequestStatus.BUILD_REQUEST_EXECUTING, false],
  ])("a status change to %s ends it: %s", (s, ends) => {
    expect(endsBuildRequest(status(s))).toBe(ends);
    expect(isFinalBuildRequestStatus(s)).toBe(ends);
  });

  it("ends it when another build request declares it lost", () => {
    expect(
      endsBuildRequest(event(payload("buildRequestLost", { detectedByBuildRequestId: "c", reason: "gone" }))),
    ).toBe(true);
  });

  it("does not end it with anything else, a failed build included (its FAILED status does)", () => {
    for (const p of [
      payload("buildRequestReceived", {}),
      payload("graphBuildFail", { message: "x" }),
      payload("graphBuildSuccess", {}),
      payload("jobCancels", { jobRunIds: ["r"], reason: "lost" }),
      payload("partitionsReleased", { partitions: [{ str: "a/1" }], reason: "cancelled" }),
      payload("buildHeartbeat", {}),
    ])
      expect(endsBuildRequest(event(p)), p.case).toBe(false);
  });
});
