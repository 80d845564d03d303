/**
 * @module What GetPartitions answers from memory: the manifests of the
 * catalog's latest builds (by log offset; a manifest never changes) and each
 * ref's PartitionStatusView already encoded, kept while the ref's catalog
 * entry is the same object (the catalog replaces an entry on every change,
 * never edits one). Both are bounded: the oldest go first. Manifests the
 * live log applies are kept as they pass (they are decoded already), so a
 * partition built while the service runs is answered without a read; older
 * ones are read back by position, once.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { PartitionStatusViewSchema, type PartitionManifest, type PartitionStatusView } from "../../gen/databuild_pb.ts";
import type { EventLog, LoggedEvent } from "../../core/event-log.ts";
import { partitionStatusView, type CatalogEntry } from "../../core/projections/partition-catalog.ts";
import type { LiveLog } from "./live-log.ts";

/** Most manifests and encoded views kept (each a few hundred bytes). */
export const STATUS_CACHE_LIMIT = 250_000;

interface EncodedView {
  readonly entry: CatalogEntry | undefined;
  /** The view as a length-delimited field value: its length, then its bytes. */
  readonly field: Uint8Array;
}

export class StatusViewCache {
  private readonly manifests = new Map<number, PartitionManifest>();
  private readonly encoded = new Map<string, EncodedView>();

  constructor(
    private readonly log: EventLog,
    private readonly live: LiveLog,
    private readonly limit = STATUS_CACHE_LIMIT,
  ) {
    live.onEvents((events) => this.keepManifests(events));
  }

  /** The status views of `refs`, in order (as `status --json` prints them); manifests not kept are read in one call. */
  async views(refs: readonly string[]): Promise<PartitionStatusView[]> {
    const entries = refs.map((ref) => this.live.catalog.get(ref));
    const manifests = await this.manifestsOf(entries);
    return refs.map((ref, i) => view(ref, entries[i], manifests));
  }

  /**
   * The same views, each encoded as field value of a repeated message field
   * (length prefix and bytes): what a binary answer is made of, without
   * encoding an unchanged view again.
   */
  async encodedViews(refs: readonly string[]): Promise<Uint8Array[]> {
    const entries = refs.map((ref) => this.live.catalog.get(ref));
    const fields: (Uint8Array | undefined)[] = refs.map((ref, i) => {
      const kept = this.encoded.get(ref);
      return kept && kept.entry === entries[i] ? kept.field : undefined;
    });
    const missing = entries.filter((_, i) => fields[i] === undefined);
    const manifests = missing.length > 0 ? await this.manifestsOf(missing) : new Map<number, PartitionManifest>();
    return refs.map((ref, i) => {
      const kept = fields[i];
      if (kept) return kept;
      // As of the entries read before the manifests (a newer entry gets its own encoding at the next call).
      const entry = entries[i];
      const encoded = toBinary(PartitionStatusViewSchema, view(ref, entry, manifests));
      const field = new BinaryWriter().bytes(encoded).finish();
      bounded(this.encoded, this.limit).set(ref, { entry, field });
      return field;
    });
  }

  /** The manifests of `entries`' latest builds: those kept, and the rest read back in one call. */
  private async manifestsOf(entries: readonly (CatalogEntry | undefined)[]): Promise<Map<number, PartitionManifest>> {
    const found = new Map<number, PartitionManifest>();
    const offsets: number[] = [];
    for (const entry of entries) {
      const offset = entry?.built?.offset;
      if (offset === undefined || found.has(offset)) continue;
      const kept = this.manifests.get(offset);
      if (kept) found.set(offset, kept);
      else offsets.push(offset);
    }
    if (offsets.length === 0) return found;
    for (const { offset, event } of await this.log.readAt([...new Set(offsets)].sort((a, b) => a - b)))
      if (event.event.case === "partitionManifest") {
        found.set(offset, event.event.value);
        bounded(this.manifests, this.limit).set(offset, event.event.value);
      }
    return found;
  }

  private keepManifests(events: readonly LoggedEvent[]): void {
    for (const { event, offset } of events)
      if (event.event.case === "partitionManifest") bounded(this.manifests, this.limit).set(offset, event.event.value);
  }
}

function view(
  ref: string,
  entry: CatalogEntry | undefined,
  manifests: ReadonlyMap<number, PartitionManifest>,
): PartitionStatusView {
  if (!entry) return create(PartitionStatusViewSchema, { partitionRef: { str: ref } });
  return partitionStatusView(ref, entry, entry.built ? manifests.get(entry.built.offset) : undefined);
}

/** `map`, with its oldest entry dropped when it is full (a Map iterates in insertion order). */
function bounded<K, V>(map: Map<K, V>, limit: number): Map<K, V> {
  if (map.size >= limit) map.delete(map.keys().next().value as K);
  return map;
}
