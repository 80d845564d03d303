/**
 * @module What `databuild invalidate` prints once it recorded an
 * invalidation: the same text whether the decision was made here or by a
 * service (`--server`, from InvalidateResponse).
 */
import { PartitionStatus } from "../../gen/databuild_pb.ts";
import { shortId } from "./short-id.ts";

/** What an invalidation did, as the report needs it. */
export interface InvalidationOutcome {
  /** What got invalidated; `builtFrom` names the upstream partition for downstream ones. */
  readonly invalidated: readonly { readonly ref: string; readonly builtFrom?: string }[];
  readonly already: readonly string[];
  readonly notAvailable: readonly { readonly ref: string; readonly status: PartitionStatus }[];
}

export function invalidationReport(outcome: InvalidationOutcome, id: string, command: string): string {
  const lines: string[] = [];
  const n = outcome.invalidated.length;
  if (n > 0) {
    lines.push(`invalidated ${n} partition${n === 1 ? "" : "s"} (invalidation ${shortId(id)}):`);
    for (const { ref, builtFrom } of outcome.invalidated)
      lines.push(`  ${ref}${builtFrom ? `  (built from ${builtFrom})` : ""}`);
  } else lines.push("nothing to invalidate");
  if (outcome.already.length > 0) lines.push(`already invalidated: ${outcome.already.join(", ")}`);
  for (const { ref, status } of outcome.notAvailable)
    lines.push(
      `not available (${PartitionStatus[status].replace("PARTITION_", "")}): ${ref}; a build rebuilds it anyway`,
    );
  const rebuild = sinks(outcome);
  if (rebuild.length > 0) lines.push(`to rebuild: ${command} build ${rebuild.join(" ")}`);
  return lines.join("\n") + "\n";
}

/** The invalidated partitions nothing else invalidated here was built from: building them rebuilds all. */
function sinks(outcome: InvalidationOutcome): string[] {
  const upstream = new Set(outcome.invalidated.map((i) => i.builtFrom).filter((r) => r !== undefined));
  return outcome.invalidated.map((i) => i.ref).filter((ref) => !upstream.has(ref));
}
