import { describe, expect, it } from "vitest";
import { PartitionStatus } from "../../gen/databuild_pb.ts";
import { eventPayload as payload } from "../build-event.ts";
import { partitionStatusChanged } from "../hot-payloads.ts";
import { newEvent } from "../new-event.ts";
import { PartitionCatalog } from "./partition-catalog.ts";

const ref = (str: string) => ({ str });
let offset = 0;
const manifest = (catalog: PartitionCatalog, output: string, run: string) =>
  catalog.apply(
    newEvent(
      { buildRequestId: "b", jobRunId: run },
      payload("partitionManifest", { outputs: [ref(output)], task: { job: { label: "j" } }, jobRunId: run }),
    ),
    ++offset,
  );
const status = (catalog: PartitionCatalog, partition: string, s: PartitionStatus, buildRequestId = "other") =>
  catalog.apply(
    newEvent(
      { buildRequestId },
      partitionStatusChanged({ $typeName: "databuild.v1.PartitionRef", str: partition }, s, ""),
    ),
    ++offset,
  );

/** A catalog restored from `source`'s saved state, as a snapshot store hands it over (a copy). */
function restored(source: PartitionCatalog): PartitionCatalog {
  const copy = new PartitionCatalog();
  copy.restoreState(structuredClone(source.saveState()));
  return copy;
}

describe("PartitionCatalog saved state", () => {
  it("saves what it restored while only no-op events came after, and what it is now once anything changed", () => {
    const built = new PartitionCatalog();
    manifest(built, "a/1", "r1");
    manifest(built, "a/2", "r2");
    const catalog = restored(built);
    // A no-op build's events: the partitions stay as they were.
    status(catalog, "a/1", PartitionStatus.PARTITION_REQUESTED);
    status(catalog, "a/1", PartitionStatus.PARTITION_DELEGATED);
    status(catalog, "a/2", PartitionStatus.PARTITION_AVAILABLE);
    expect(catalog.saveState()).toEqual(built.saveState());

    status(catalog, "a/3", PartitionStatus.PARTITION_REQUESTED);
    manifest(catalog, "a/2", "r3");
    const again = restored(catalog);
    expect(again.get("a/3")?.status).toBe(PartitionStatus.PARTITION_REQUESTED);
    expect(again.available("a/2")?.jobRunId).toBe("r3");
    expect(again.available("a/1")?.jobRunId).toBe("r1");

    status(again, "a/1", PartitionStatus.PARTITION_INVALIDATED);
    expect(restored(again).get("a/1")?.status).toBe(PartitionStatus.PARTITION_INVALIDATED);
  });

  it("keeps a frozen state it restores as its saved state (a snapshot store knows its bytes), and copies any other", () => {
    const built = new PartitionCatalog();
    manifest(built, "a/1", "r1");
    const frozen = Object.freeze(structuredClone(built.saveState()) as object);
    const catalog = new PartitionCatalog();
    catalog.restoreState(frozen);
    expect(catalog.saveState()).toBe(frozen);
    const open = structuredClone(built.saveState()) as object;
    catalog.restoreState(open);
    expect(catalog.saveState()).not.toBe(open);
    expect(Object.isFrozen(catalog.saveState())).toBe(true);
  });
});
