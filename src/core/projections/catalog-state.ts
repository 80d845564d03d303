/**
 * @module The partition catalog's saved state in columns: one table of
 * distinct strings (refs, job run ids, labels) and typed arrays that index
 * it. A snapshot of a catalog written as objects repeats every input's ref
 * and job run id in every consumer and takes ~600 bytes and ~10 µs to
 * restore per partition; in columns each string is stored once and the rest
 * is raw numbers, which is what makes a build's start cheap at 100,000s of
 * partitions.
 */
import type { PartitionStatus } from "../../gen/databuild_pb.ts";
import { ReadModelStateError } from "../read-model.ts";
import type { BuiltPartition, CatalogEntry, LineageInput } from "./partition-catalog.ts";

/** The columns (the snapshot holds exactly this object). */
export interface CatalogColumns {
  readonly format: "columns-1";
  readonly strings: string[];
  readonly refs: Int32Array;
  readonly status: Uint8Array;
  /** buildRequestId, jobRunId, jobLabel, message of each entry (string indexes, 4 per entry). */
  readonly entryStrings: Int32Array;
  /** NaN: unknown. */
  readonly updatedMs: Float64Array;
  /** Index into the built columns, -1 for none. */
  readonly built: Int32Array;
  readonly builtOffset: Float64Array;
  /** jobRunId, buildRequestId, jobLabel, jobVersion, graphLabel of each build (5 per build). */
  readonly builtStrings: Int32Array;
  readonly builtEndMs: Float64Array;
  /** Build b's inputs are inputs[inputStart[b] .. inputStart[b + 1]). */
  readonly inputStart: Int32Array;
  readonly inputRef: Int32Array;
  readonly inputRun: Int32Array;
  readonly inputMaterialize: Uint8Array;
}

class StringTable {
  readonly strings: string[] = [];
  private readonly index = new Map<string, number>();

  of(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

export function encodeCatalog(partitions: ReadonlyMap<string, CatalogEntry>): CatalogColumns {
  const table = new StringTable();
  const n = partitions.size;
  const builds: BuiltPartition[] = [];
  const buildIndex = new Map<BuiltPartition, number>();
  const refs = new Int32Array(n);
  const status = new Uint8Array(n);
  const entryStrings = new Int32Array(n * 4);
  const updatedMs = new Float64Array(n);
  const built = new Int32Array(n);
  let i = 0;
  for (const [ref, entry] of partitions) {
    refs[i] = table.of(ref);
    status[i] = entry.status;
    entryStrings[i * 4] = table.of(entry.buildRequestId);
    entryStrings[i * 4 + 1] = table.of(entry.jobRunId);
    entryStrings[i * 4 + 2] = table.of(entry.jobLabel);
    entryStrings[i * 4 + 3] = table.of(entry.message);
    updatedMs[i] = entry.updatedMs ?? NaN;
    if (entry.built) {
      let b = buildIndex.get(entry.built);
      if (b === undefined) {
        b = builds.length;
        builds.push(entry.built);
        buildIndex.set(entry.built, b);
      }
      built[i] = b;
    } else built[i] = -1;
    i++;
  }
  const m = builds.length;
  const builtOffset = new Float64Array(m);
  const builtStrings = new Int32Array(m * 5);
  const builtEndMs = new Float64Array(m);
  const inputStart = new Int32Array(m + 1);
  let inputs = 0;
  for (const b of builds) inputs += b.inputs.length;
  const inputRef = new Int32Array(inputs);
  const inputRun = new Int32Array(inputs);
  const inputMaterialize = new Uint8Array(inputs);
  let k = 0;
  builds.forEach((b, j) => {
    builtOffset[j] = b.offset;
    builtStrings[j * 5] = table.of(b.jobRunId);
    builtStrings[j * 5 + 1] = table.of(b.buildRequestId);
    builtStrings[j * 5 + 2] = table.of(b.jobLabel);
    builtStrings[j * 5 + 3] = table.of(b.jobVersion);
    builtStrings[j * 5 + 4] = table.of(b.graphLabel);
    builtEndMs[j] = b.endMs ?? NaN;
    inputStart[j] = k;
    for (const input of b.inputs) {
      inputRef[k] = table.of(input.ref);
      inputRun[k] = table.of(input.jobRunId);
      inputMaterialize[k] = input.materialize ? 1 : 0;
      k++;
    }
  });
  inputStart[m] = k;
  return {
    format: "columns-1",
    strings: table.strings,
    refs,
    status,
    entryStrings,
    updatedMs,
    built,
    builtOffset,
    builtStrings,
    builtEndMs,
    inputStart,
    inputRef,
    inputRun,
    inputMaterialize,
  };
}

/** Fills `into` with the entries of `state`; throws ReadModelStateError when it is not CatalogColumns. */
export function decodeCatalog(model: string, state: unknown, into: Map<string, CatalogEntry>): void {
  const c = state as CatalogColumns;
  if (typeof state !== "object" || state === null || c.format !== "columns-1" || !Array.isArray(c.strings))
    throw new ReadModelStateError(model, "its saved state is not the catalog's columns");
  const s = c.strings;
  const str = (i: number) => {
    const v = s[i];
    if (v === undefined) throw new ReadModelStateError(model, `its saved state names string ${i} of ${s.length}`);
    return v;
  };
  const builds: BuiltPartition[] = [];
  for (let j = 0; j < c.builtOffset.length; j++) {
    const inputs: LineageInput[] = [];
    for (let k = c.inputStart[j]!; k < c.inputStart[j + 1]!; k++)
      inputs.push({
        ref: str(c.inputRef[k]!),
        materialize: c.inputMaterialize[k] === 1,
        jobRunId: str(c.inputRun[k]!),
      });
    const endMs = c.builtEndMs[j]!;
    builds.push({
      offset: c.builtOffset[j]!,
      jobRunId: str(c.builtStrings[j * 5]!),
      buildRequestId: str(c.builtStrings[j * 5 + 1]!),
      jobLabel: str(c.builtStrings[j * 5 + 2]!),
      jobVersion: str(c.builtStrings[j * 5 + 3]!),
      graphLabel: str(c.builtStrings[j * 5 + 4]!),
      endMs: Number.isNaN(endMs) ? undefined : endMs,
      inputs,
    });
  }
  into.clear();
  for (let i = 0; i < c.refs.length; i++) {
    const b = c.built[i]!;
    const updatedMs = c.updatedMs[i]!;
    into.set(str(c.refs[i]!), {
      status: c.status[i]! as PartitionStatus,
      buildRequestId: str(c.entryStrings[i * 4]!),
      jobRunId: str(c.entryStrings[i * 4 + 1]!),
      jobLabel: str(c.entryStrings[i * 4 + 2]!),
      message: str(c.entryStrings[i * 4 + 3]!),
      updatedMs: Number.isNaN(updatedMs) ? undefined : updatedMs,
      built: b < 0 ? undefined : builds[b],
    });
  }
}
