/**
 * @module An explanation as it crosses the service's wire and back: the
 * facts `Explained` carries beside the PartitionExplanation (holder gone,
 * claimed at, how the requester ended, the worker offer) travel in its
 * fields 15–18, so `databuild --server … explain` prints what the local
 * command prints.
 */
import { create } from "@bufbuild/protobuf";
import { JobRunOfferViewSchema, PartitionExplanationSchema, type PartitionExplanation } from "../gen/databuild_pb.ts";
import type { Explained } from "./explain-partition.ts";

/** The PartitionExplanation of `answer`, with its side facts in their fields. */
export function explanationMessage(answer: Explained): PartitionExplanation {
  const message = create(PartitionExplanationSchema, answer.explanation);
  message.holderGone = answer.holderGone ?? "";
  message.claimedAt = answer.claimedAt;
  message.requesterEnded = answer.requesterEnded ?? "";
  const offer = answer.offer;
  message.offer = offer
    ? create(JobRunOfferViewSchema, {
        jobRunId: offer.jobRunId,
        offeredAt: offer.offeredAt,
        takenByWorkerId: offer.takenBy?.workerId ?? "",
        takenByHostname: offer.takenBy?.hostname ?? "",
        takenAt: offer.takenBy?.at,
      })
    : undefined;
  return message;
}

/** The answer a PartitionExplanation from a service stands for (the inverse of explanationMessage). */
export function explainedOf(explanation: PartitionExplanation): Explained {
  const offer = explanation.offer;
  return {
    explanation,
    holderGone: explanation.holderGone || undefined,
    claimedAt: explanation.claimedAt,
    requesterEnded: explanation.requesterEnded || undefined,
    offer: offer && {
      jobRunId: offer.jobRunId,
      offeredAt: offer.offeredAt,
      takenBy: offer.takenByWorkerId
        ? { workerId: offer.takenByWorkerId, hostname: offer.takenByHostname, at: offer.takenAt }
        : undefined,
    },
  };
}
