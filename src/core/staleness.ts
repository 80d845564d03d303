/**
 * @module Staleness: whether an available partition may still be used, or
 * would be rebuilt when next requested (seed: "Data Ver & Invalidation").
 * An available partition is stale when
 *   - another job, or another graph's job, produces it now than the one
 *     that built it (two graphs sharing one log, a job renamed or replaced), or
 *   - the job that produces it now has a different major version than the
 *     one recorded in its manifest (minor and patch changes keep it), or
 *   - a MATERIALIZE input was rebuilt after it (the input's current manifest
 *     is not the one recorded in this manifest's lineage), or
 *   - a MATERIALIZE input is itself stale or was invalidated: it will be
 *     rebuilt, so whatever was built from it follows.
 * Everything is derived from the manifests in the catalog; nothing is stored.
 */
import { create } from "@bufbuild/protobuf";
import { PartitionStatus, StaleReason_Kind, StaleReasonSchema, type StaleReason } from "../gen/databuild_pb.ts";
import type { BuiltPartition, PartitionCatalog } from "./projections/partition-catalog.ts";
import { parseVersion } from "./version.ts";

/** The job that produces a ref in the current graph, its declared version, and the graph's label. */
export type CurrentJob = (
  ref: string,
) => { readonly label: string; readonly version: string; readonly graphLabel: string } | undefined;

const NONE: readonly StaleReason[] = [];

export class Staleness {
  private readonly memo = new Map<string, readonly StaleReason[]>();

  constructor(
    private readonly catalog: PartitionCatalog,
    private readonly currentJob: CurrentJob,
  ) {}

  /** Available and not stale: a build may use it as it is. */
  isUsable(ref: string): boolean {
    return this.catalog.available(ref) !== undefined && this.reasons(ref).length === 0;
  }

  /** Why the available partition `ref` is stale; empty when it is fresh or not available. */
  reasons(ref: string): readonly StaleReason[] {
    const known = this.memo.get(ref);
    if (known) return known;
    // Iterative depth-first walk over lineage (chains can be very deep).
    const stack = [ref];
    const onStack = new Set(stack);
    while (stack.length > 0) {
      const current = stack[stack.length - 1]!;
      if (this.memo.has(current)) {
        onStack.delete(stack.pop()!);
        continue;
      }
      const manifest = this.catalog.available(current);
      if (!manifest) {
        this.memo.set(current, NONE);
        onStack.delete(stack.pop()!);
        continue;
      }
      const pending = this.materializeInputs(manifest).filter(
        (input) => !this.memo.has(input) && this.catalog.available(input) !== undefined,
      );
      if (pending.length > 0) {
        // An input already on the stack is a (corrupt) lineage cycle: not followed.
        for (const input of pending) {
          if (onStack.has(input)) continue;
          stack.push(input);
          onStack.add(input);
        }
        if (stack[stack.length - 1] !== current) continue;
      }
      this.memo.set(current, this.compute(current, manifest));
      onStack.delete(stack.pop()!);
    }
    return this.memo.get(ref)!;
  }

  private materializeInputs(manifest: BuiltPartition): string[] {
    const refs: string[] = [];
    for (const input of manifest.inputs) if (input.materialize && input.ref) refs.push(input.ref);
    return refs;
  }

  private compute(ref: string, manifest: BuiltPartition): readonly StaleReason[] {
    const reasons: StaleReason[] = [];
    const job = this.currentJob(ref);
    const builtBy = manifest.jobLabel;
    // Manifests from before graph labels were recorded have "": only the job label can be compared.
    const otherGraph = manifest.graphLabel !== "" && manifest.graphLabel !== job?.graphLabel;
    if (job && ((builtBy !== "" && builtBy !== job.label) || otherGraph)) {
      const by = manifest.graphLabel ? `job ${builtBy} of graph ${manifest.graphLabel}` : `job ${builtBy}`;
      reasons.push(
        create(StaleReasonSchema, {
          kind: StaleReason_Kind.PRODUCER_CHANGED,
          message: `built by ${by}; job ${job.label} of graph ${job.graphLabel} produces it now`,
        }),
      );
    } else if (job) {
      const built = parseVersion(manifest.jobVersion || "0.0.0");
      const now = parseVersion(job.version);
      if (built && now && built.major !== now.major) {
        reasons.push(
          create(StaleReasonSchema, {
            kind: StaleReason_Kind.VERSION,
            message: `built by ${manifest.jobLabel || job.label} version ${manifest.jobVersion || "0.0.0"}; the job is now version ${job.version} (major version changed)`,
          }),
        );
      }
    }
    for (const input of manifest.inputs) {
      if (!input.materialize || !input.ref) continue;
      const inputRef = input.ref;
      const view = this.catalog.get(inputRef);
      if (!view) continue;
      if (view.status === PartitionStatus.PARTITION_INVALIDATED) {
        reasons.push(inputReason(StaleReason_Kind.INPUT_STALE, inputRef, `input ${inputRef} was invalidated`));
        continue;
      }
      const current = this.catalog.available(inputRef);
      if (!current) continue;
      if (input.jobRunId && current.jobRunId !== input.jobRunId) {
        const when = current.endMs !== undefined ? ` at ${new Date(current.endMs).toISOString()}` : "";
        reasons.push(
          inputReason(
            StaleReason_Kind.INPUT_REBUILT,
            inputRef,
            `input ${inputRef} was rebuilt${when} (job run ${current.jobRunId}) after this partition was built from job run ${input.jobRunId}`,
          ),
        );
      } else if ((this.memo.get(inputRef) ?? NONE).length > 0 && inputRef !== ref) {
        reasons.push(inputReason(StaleReason_Kind.INPUT_STALE, inputRef, `input ${inputRef} is stale`));
      }
    }
    return reasons.length === 0 ? NONE : reasons;
  }
}

function inputReason(kind: StaleReason_Kind, ref: string, message: string): StaleReason {
  return create(StaleReasonSchema, { kind, message, input: { str: ref } });
}
