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

/**
 * The job that produces a ref in the current graph, its declared version, and
 * the graph's label. `builtBy`: the label of the job that built it, a hint
 * (Graph.matchOf's likelyJob).
 */
export type CurrentJob = (
  ref: string,
  builtBy?: string,
) => { readonly label: string; readonly version: string; readonly graphLabel: string } | undefined;

const NONE: readonly StaleReason[] = [];
/** In the memo while a partition's inputs are being walked (no reasons known yet). */
const VISITING: readonly StaleReason[] = [];

export class Staleness {
  private readonly memo = new Map<string, readonly StaleReason[]>();
  /** Major versions by version string: the same few strings come up for every partition. */
  private readonly majors = new Map<string, number | undefined>();

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
    const memo = this.memo;
    const known = memo.get(ref);
    if (known && known !== VISITING) return known;
    const catalog = this.catalog;
    // Iterative depth-first walk over lineage (chains can be very deep): a
    // partition is decided after its inputs. While its inputs are walked it
    // is VISITING, so an input that leads back to it is a (corrupt) lineage
    // cycle: not followed. Each frame is a partition, its manifest and the
    // next of its inputs to look at.
    const refs: string[] = [];
    const manifests: BuiltPartition[] = [];
    const next: number[] = [];
    const enter = (at: string, manifest: BuiltPartition): void => {
      memo.set(at, VISITING);
      refs.push(at);
      manifests.push(manifest);
      next.push(0);
    };
    const first = catalog.available(ref);
    if (!first) return NONE;
    enter(ref, first);
    while (refs.length > 0) {
      const top = refs.length - 1;
      const manifest = manifests[top]!;
      const inputs = manifest.inputs;
      let i = next[top]!;
      let descended = false;
      for (; i < inputs.length; i++) {
        const input = inputs[i]!;
        const inputRef = input.ref;
        if (!input.materialize || !inputRef || memo.has(inputRef)) continue;
        // Not available: nothing to decide about it (compute looks at its status).
        const inputManifest = catalog.available(inputRef);
        if (inputManifest === undefined) continue;
        next[top] = i + 1;
        enter(inputRef, inputManifest);
        descended = true;
        break;
      }
      if (descended) continue;
      const current = refs.pop()!;
      manifests.pop();
      next.pop();
      memo.set(current, this.compute(current, manifest));
    }
    return memo.get(ref)!;
  }

  private major(version: string): number | undefined {
    if (this.majors.has(version)) return this.majors.get(version);
    const major = parseVersion(version)?.major;
    this.majors.set(version, major);
    return major;
  }

  private compute(ref: string, manifest: BuiltPartition): readonly StaleReason[] {
    let reasons: StaleReason[] | undefined;
    const builtBy = manifest.jobLabel;
    const job = this.currentJob(ref, builtBy || undefined);
    // Manifests from before graph labels were recorded have "": only the job label can be compared.
    const otherGraph = manifest.graphLabel !== "" && manifest.graphLabel !== job?.graphLabel;
    if (job && ((builtBy !== "" && builtBy !== job.label) || otherGraph)) {
      const by = manifest.graphLabel ? `job ${builtBy} of graph ${manifest.graphLabel}` : `job ${builtBy}`;
      (reasons ??= []).push(
        create(StaleReasonSchema, {
          kind: StaleReason_Kind.PRODUCER_CHANGED,
          message: `built by ${by}; job ${job.label} of graph ${job.graphLabel} produces it now`,
        }),
      );
    } else if (job && manifest.jobVersion !== job.version) {
      const built = this.major(manifest.jobVersion || "0.0.0");
      const now = this.major(job.version);
      if (built !== undefined && now !== undefined && built !== now) {
        (reasons ??= []).push(
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
        (reasons ??= []).push(inputReason(StaleReason_Kind.INPUT_STALE, inputRef, `input ${inputRef} was invalidated`));
        continue;
      }
      // What `catalog.available` answers, from the entry already in hand.
      const current = view.status === PartitionStatus.PARTITION_AVAILABLE ? view.built : undefined;
      if (!current) continue;
      if (input.jobRunId && current.jobRunId !== input.jobRunId) {
        const when = current.endMs !== undefined ? ` at ${new Date(current.endMs).toISOString()}` : "";
        (reasons ??= []).push(
          inputReason(
            StaleReason_Kind.INPUT_REBUILT,
            inputRef,
            `input ${inputRef} was rebuilt${when} (job run ${current.jobRunId}) after this partition was built from job run ${input.jobRunId}`,
          ),
        );
      } else if ((this.memo.get(inputRef) ?? NONE).length > 0 && inputRef !== ref) {
        (reasons ??= []).push(inputReason(StaleReason_Kind.INPUT_STALE, inputRef, `input ${inputRef} is stale`));
      }
    }
    return reasons ?? NONE;
  }
}

function inputReason(kind: StaleReason_Kind, ref: string, message: string): StaleReason {
  return create(StaleReasonSchema, { kind, message, input: { str: ref } });
}
