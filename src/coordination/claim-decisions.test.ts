import { describe, expect, it } from "vitest";
import { BuildRequestStatus, ExitCategory, type BuildEvent } from "../gen/databuild_pb.ts";
import { eventPayload as payload, type EventPayload } from "../core/build-event.ts";
import { diagramViolations } from "../core/diagrams/diagram-paths.ts";
import { newEvent } from "../core/new-event.ts";
import { ClaimBook } from "../core/projections/claims.ts";
import { History } from "../testing/coordination-history.ts";
import { decideClaims, lostBuildEvents, type ClaimRequest } from "./claim-decisions.ts";

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

describe("decideClaims", () => {
  const T0 = 1_700_000_000_000;
  /** "me" plans to build out/1 and out/2, waits on held/1 (held by "other") and uses raw/1 (built by "a"). */
  const plan = (changes: Partial<ClaimRequest> = {}): ClaimRequest => ({
    buildRequestId: "me",
    owned: ["out/1", "out/2"],
    builtWhenPlanned: new Map([
      ["out/1", ""],
      ["out/2", ""],
    ]),
    delegated: new Map([["held/1", "other"]]),
    available: new Map([["raw/1", { buildRequestId: "a", jobRunId: "run-raw/1" }]]),
    ...changes,
  });
  const history = () =>
    new History()
      .received("a", T0)
      .built("a", "raw/1", [], T0)
      .received("other", T0)
      .claimed("other", ["held/1"], T0)
      .received("me", T0);
  const cases = (events: readonly BuildEvent[]) =>
    events.map((e) => [e.event.case, e.event.case === "partitionDelegated" ? e.event.value.partitionRef?.str : ""]);

  it("claims the plan's outputs and records each delegation when the log is as the plan saw it", () => {
    const outcome = decideClaims(history().view(), plan());
    expect(outcome.ok).toBe(true);
    const events = outcome.ok ? outcome.events : [];
    expect(cases(events)).toEqual([
      ["partitionsClaimed", ""],
      ["partitionDelegated", "held/1"],
      ["partitionDelegated", "raw/1"],
    ]);
    expect(events.every((e) => e.buildRequestId === "me")).toBe(true);
    expect(events[0]!.event.value).toMatchObject({ partitions: [{ str: "out/1" }, { str: "out/2" }] });
  });

  it("refuses a plan the log moved under: an output claimed or built meanwhile, a delegate that let go", () => {
    const claimed = history().received("rival", T0).claimed("rival", ["out/2"], T0);
    expect(decideClaims(claimed.view(), plan())).toEqual({
      ok: false,
      conflict: "out/2 was claimed meanwhile by build request rival",
    });
    const built = history().built("a", "out/1", [], T0);
    expect(decideClaims(built.view(), plan())).toEqual({ ok: false, conflict: "out/1 was built meanwhile" });
    const released = history();
    released.add("other", payload("partitionsReleased", { partitions: [{ str: "held/1" }] }), T0);
    expect(decideClaims(released.view(), plan())).toEqual({
      ok: false,
      conflict: "held/1 is no longer claimed by build request other",
    });
  });

  it("waits on nothing the delegate finished meanwhile, and names a delegate's successor", () => {
    const finished = history().built("other", "held/1", [], T0);
    const outcome = decideClaims(finished.view(), plan());
    expect(outcome.ok && cases(outcome.events)).toEqual([
      ["partitionsClaimed", ""],
      ["partitionDelegated", "raw/1"],
    ]);
    const successor = history().received("next", T0);
    successor.add("other", payload("partitionsReleased", { partitions: [{ str: "held/1" }] }), T0);
    successor.claimed("next", ["held/1"], T0);
    const taken = decideClaims(successor.view(), plan());
    const delegation = taken.ok ? taken.events.find((e) => e.event.case === "partitionDelegated") : undefined;
    expect(delegation?.event.value).toMatchObject({ delegateBuildRequestId: "next" });
  });
});
