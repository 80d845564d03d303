import { describe, expect, it } from "vitest";
import { BuildRequestStatus, ExitCategory, type BuildEvent } from "../gen/databuild_pb.ts";
import { eventPayload as payload, type EventPayload } from "../core/build-event.ts";
import { diagramViolations } from "../core/diagrams/diagram-paths.ts";
import { newEvent } from "../core/new-event.ts";
import { ClaimBook } from "../core/projections/claims.ts";
import { lostBuildEvents } from "./claim-decisions.ts";

const task = { job: { label: "up" }, config: { outputs: [{ str: "up/1" }] } };
const lost = (upTo: "scheduled" | "validated" | "launched") => {
  const at = (p: EventPayload, jobRunId = "") => newEvent({ buildRequestId: "b", jobRunId }, p);
  const events: BuildEvent[] = [
    at(payload("buildRequestReceived", { options: { heartbeatTimeoutMs: 1_000 }, hostname: "h", pid: 7 })),
    at(payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_PLANNING })),
    at(payload("jobGraph", { jobGraph: { nodes: [task] } })),
    at(payload("buildRequestStatusChanged", { status: BuildRequestStatus.BUILD_REQUEST_EXECUTING })),
    at(payload("partitionsClaimed", { partitions: [{ str: "up/1" }] })),
    at(payload("remainingJobs", { ready: 1 })),
    at(payload("jobScheduleSuccess", { task, attempt: 1 }), "r"),
  ];
  if (upTo !== "scheduled") events.push(at(payload("configValidateSuccess", { task }), "r"));
  if (upTo === "launched") events.push(at(payload("taskLaunchSuccess", { task, pid: 9, hostname: "h" }), "r"));
  const book = new ClaimBook();
  for (const e of events) book.apply(e);
  return [...events, ...lostBuildEvents(book.lease("b")!, "finder", "its process 7 on h is gone", Date.now())];
};

describe("lostBuildEvents", () => {
  it("ends a lost job run's job.exec path where it was cut off: scheduled, validated or launched", () => {
    for (const upTo of ["scheduled", "validated", "launched"] as const) {
      const events = lost(upTo);
      expect(diagramViolations(events), upTo).toEqual([]);
      const failure = events.find((e) => e.event.case === "jobFailure")!.event.value as { category: ExitCategory };
      expect(failure.category).toBe(ExitCategory.EXIT_LOST);
    }
    expect(lost("validated").map((e) => e.event.case)).toContain("taskLaunchFail");
    expect(lost("launched").map((e) => e.event.case)).toContain("taskFailed");
  });
});
