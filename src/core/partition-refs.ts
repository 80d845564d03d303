/**
 * @module Which partitions an event is about: the key of the per-partition
 * index (EventFilter.partitions). Every backend indexes exactly these refs, so
 * "the events of partition P" means the same thing everywhere.
 */
import type { BuildEvent } from "../gen/databuild_pb.ts";

const NONE: readonly string[] = [];

/**
 * The refs `event` is about: a status change's ref, a manifest's outputs, a
 * delegation's ref, the partitions claimed or released. Inputs named in a
 * manifest's lineage are not the manifest's subject and are not included;
 * neither is the request list of an invalidation (its INVALIDATED status
 * changes name every partition it invalidated).
 */
export function partitionRefsOf(event: BuildEvent): readonly string[] {
  const payload = event.event;
  switch (payload.case) {
    case "partitionStatusChanged":
      return payload.value.partitionRef ? [payload.value.partitionRef.str] : NONE;
    case "partitionManifest":
      return payload.value.outputs.map((r) => r.str);
    case "partitionDelegated":
      return payload.value.partitionRef ? [payload.value.partitionRef.str] : NONE;
    case "partitionsClaimed":
    case "partitionsReleased":
      return payload.value.partitions.map((r) => r.str);
    default:
      return NONE;
  }
}
