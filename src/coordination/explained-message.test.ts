import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { PartitionExplanationSchema, PartitionState } from "../gen/databuild_pb.ts";
import type { Explained } from "./explain-partition.ts";
import { explainedOf, explanationMessage } from "./explained-message.ts";

/** What a client gets: the message through its wire bytes. */
const overTheWire = (answer: Explained) =>
  explainedOf(fromBinary(PartitionExplanationSchema, toBinary(PartitionExplanationSchema, explanationMessage(answer))));

describe("an explanation over the service's wire", () => {
  it("keeps the holder gone, when it was claimed, and the worker that took its job run", () => {
    const answer: Explained = {
      explanation: create(PartitionExplanationSchema, { partitionRef: { str: "a/1" }, state: PartitionState.CLAIMED }),
      holderGone: "its process 4242 on here is gone",
      claimedAt: timestampFromMs(1_700_000_000_000),
      offer: {
        jobRunId: "run-1",
        offeredAt: timestampFromMs(1_700_000_001_000),
        takenBy: { workerId: "w-1", hostname: "worker-host", at: timestampFromMs(1_700_000_002_000) },
      },
    };
    const back = overTheWire(answer);
    expect(back.holderGone).toBe(answer.holderGone);
    expect(back.claimedAt?.seconds).toBe(answer.claimedAt!.seconds);
    expect(back.offer?.takenBy).toMatchObject({ workerId: "w-1", hostname: "worker-host" });
    expect(back.offer?.takenBy?.at?.seconds).toBe(answer.offer!.takenBy!.at!.seconds);
    expect(back.explanation.state).toBe(PartitionState.CLAIMED);
  });

  it("leaves out what the answer did not have: no offer, no requester's end, an offer nobody took", () => {
    const pending: Explained = {
      explanation: create(PartitionExplanationSchema, { state: PartitionState.PENDING }),
      requesterEnded: "failed",
    };
    expect(overTheWire(pending)).toMatchObject({ requesterEnded: "failed", holderGone: undefined, offer: undefined });
    const offered = overTheWire({ ...pending, requesterEnded: undefined, offer: { jobRunId: "run-2" } });
    expect(offered.requesterEnded).toBeUndefined();
    expect(offered.offer).toEqual({ jobRunId: "run-2", offeredAt: undefined, takenBy: undefined });
  });
});
