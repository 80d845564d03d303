import { describe, expect, it } from "vitest";
import { eventPayload as payload } from "../../core/build-event.ts";
import { newEvent } from "../../core/new-event.ts";
import { describeEvent } from "./describe-event.ts";

describe("describeEvent", () => {
  it("counts partitions and jobs in the singular and the plural", () => {
    const one = newEvent({ buildRequestId: "b" }, payload("graphBuildSuccess", { partitionsBuilt: 1, jobsRun: 1 }));
    expect(describeEvent(one)).toBe("graph build succeeded: 1 partition in 1 job");
    const many = newEvent({ buildRequestId: "b" }, payload("graphBuildSuccess", { partitionsBuilt: 3, jobsRun: 2 }));
    expect(describeEvent(many)).toBe("graph build succeeded: 3 partitions in 2 jobs");
  });
});
