import { describe, expect, it } from "vitest";
import { eventPayload as payload } from "../core/build-event.ts";
import { History } from "../testing/coordination-history.ts";
import { declaredLost, fenceFilter } from "./fence.ts";

describe("the fence's decision", () => {
  it("finds the declaration that this build request is lost, and nothing else", () => {
    expect(fenceFilter("me")).toEqual({ buildRequestId: "me", kinds: ["buildRequestLost"] });
    const history = new History();
    expect(declaredLost("me", history.events)).toBeUndefined();
    history.add("other", payload("buildRequestLost", { detectedByBuildRequestId: "me", reason: "gone" }), 1);
    expect(declaredLost("me", history.events)).toBeUndefined();
    history.add("me", payload("buildRequestLost", { detectedByBuildRequestId: "b", reason: "no heartbeat" }), 2);
    history.add("me", payload("buildRequestLost", { detectedByBuildRequestId: "c", reason: "later" }), 3);
    expect(declaredLost("me", history.events)).toEqual({ detectedBy: "b", reason: "no heartbeat" });
  });
});
