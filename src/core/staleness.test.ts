import { describe, expect, it } from "vitest";
import { DepType, PartitionStatus, StaleReason_Kind } from "../gen/databuild_pb.ts";
import { eventPayload as payload } from "./build-event.ts";
import { partitionStatusChanged } from "./hot-payloads.ts";
import { newEvent } from "./new-event.ts";
import { PartitionCatalog } from "./projections/partition-catalog.ts";
import { Staleness } from "./staleness.ts";

const ref = (str: string) => ({ str });
/** Positions of the events applied (the catalog keeps manifests' positions). */
let offset = 0;

/** Records a manifest: `output` built by job run `run` of `job` at `version`, from `inputs` (ref -> job run). */
function built(
  catalog: PartitionCatalog,
  output: string,
  run: string,
  inputs: Record<string, string> = {},
  job = output.split("/")[0]!,
  version = "1.0.0",
  graphLabel = "",
) {
  catalog.apply(
    newEvent(
      { buildRequestId: "b", jobRunId: run },
      payload("partitionManifest", {
        outputs: [ref(output)],
        inputs: Object.entries(inputs).map(([r, jobRunId]) => ({
          partitionRef: ref(r),
          depType: DepType.MATERIALIZE,
          jobRunId,
        })),
        task: { job: { label: job } },
        jobRunId: run,
        jobVersion: version,
        graphLabel,
      }),
    ),
    ++offset,
  );
}

const versions =
  (map: Record<string, string>, graphLabel = "g") =>
  (r: string) => ({
    label: r.split("/")[0]!,
    version: map[r.split("/")[0]!] ?? "1.0.0",
    graphLabel,
  });

describe("Staleness", () => {
  it("keeps partitions of a job whose minor or patch version changed, and marks a major change stale", () => {
    const catalog = new PartitionCatalog();
    built(catalog, "clean/1", "r1", {}, "clean", "1.2.3");
    expect(new Staleness(catalog, versions({ clean: "1.9.0" })).isUsable("clean/1")).toBe(true);
    const stale = new Staleness(catalog, versions({ clean: "2.0.0" }));
    expect(stale.isUsable("clean/1")).toBe(false);
    expect(stale.reasons("clean/1").map((r) => [r.kind, r.message])).toEqual([
      [StaleReason_Kind.VERSION, "built by clean version 1.2.3; the job is now version 2.0.0 (major version changed)"],
    ]);
  });

  it("marks a partition stale when an input was rebuilt after it, naming the input", () => {
    const catalog = new PartitionCatalog();
    built(catalog, "raw/1", "r1");
    built(catalog, "clean/1", "c1", { "raw/1": "r1" });
    expect(new Staleness(catalog, versions({})).isUsable("clean/1")).toBe(true);
    built(catalog, "raw/1", "r2");
    const reasons = new Staleness(catalog, versions({})).reasons("clean/1");
    expect(reasons).toHaveLength(1);
    expect(reasons[0]!.kind).toBe(StaleReason_Kind.INPUT_REBUILT);
    expect(reasons[0]!.input?.str).toBe("raw/1");
  });

  it("propagates through lineage: downstream of a stale or invalidated input is stale", () => {
    const catalog = new PartitionCatalog();
    built(catalog, "raw/1", "r1", {}, "raw");
    built(catalog, "clean/1", "c1", { "raw/1": "r1" }, "clean");
    built(catalog, "report/1", "p1", { "clean/1": "c1" }, "report");
    const bumped = new Staleness(catalog, versions({ raw: "2.0.0" }));
    expect(bumped.reasons("report/1").map((r) => r.message)).toEqual(["input clean/1 is stale"]);
    catalog.apply(
      newEvent(
        { buildRequestId: "inv" },
        partitionStatusChanged(ref("raw/1") as never, PartitionStatus.PARTITION_INVALIDATED, "", "bad data"),
      ),
      ++offset,
    );
    const invalidated = new Staleness(catalog, versions({}));
    expect(invalidated.isUsable("raw/1")).toBe(false);
    expect(invalidated.reasons("clean/1").map((r) => r.message)).toEqual(["input raw/1 was invalidated"]);
    expect(invalidated.isUsable("report/1")).toBe(false);
  });

  it("decides an input reached by two paths after its own inputs: a sibling built from a stale input is stale too", () => {
    // report/1 <- clean/1 and agg/1; agg/1 <- clean/1; clean/1 <- raw/1, which is then invalidated.
    const catalog = new PartitionCatalog();
    built(catalog, "raw/1", "r1");
    built(catalog, "clean/1", "c1", { "raw/1": "r1" });
    built(catalog, "agg/1", "a1", { "clean/1": "c1" });
    built(catalog, "report/1", "p1", { "clean/1": "c1", "agg/1": "a1" });
    catalog.apply(
      newEvent(
        { buildRequestId: "inv" },
        partitionStatusChanged(ref("raw/1") as never, PartitionStatus.PARTITION_INVALIDATED, "", "bad data"),
      ),
      ++offset,
    );
    const staleness = new Staleness(catalog, versions({}));
    expect(staleness.reasons("report/1").map((r) => r.message)).toEqual([
      "input clean/1 is stale",
      "input agg/1 is stale",
    ]);
    // Decided on the way, from clean/1's own answer (not before it).
    expect(staleness.reasons("agg/1").map((r) => r.message)).toEqual(["input clean/1 is stale"]);
  });

  it("walks a 30,000-deep lineage chain without overflowing the stack", () => {
    const catalog = new PartitionCatalog();
    built(catalog, "n/0", "r0", {}, "n");
    for (let i = 1; i < 30_000; i++) built(catalog, `n/${i}`, `r${i}`, { [`n/${i - 1}`]: `r${i - 1}` }, "n");
    expect(new Staleness(catalog, versions({})).isUsable("n/29999")).toBe(true);
    expect(new Staleness(catalog, versions({ n: "3.0.0" })).reasons("n/29999").length).toBe(2);
  });

  it("marks a partition stale when another job or another graph's job produces it now, and propagates it", () => {
    const catalog = new PartitionCatalog();
    built(catalog, "raw/1", "r1", {}, "ingest", "1.0.0", "g");
    built(catalog, "clean/1", "c1", { "raw/1": "r1" }, "clean", "1.0.0", "g");
    expect(new Staleness(catalog, versions({})).reasons("raw/1").map((r) => [r.kind, r.message])).toEqual([
      [StaleReason_Kind.PRODUCER_CHANGED, "built by job ingest of graph g; job raw of graph g produces it now"],
    ]);
    expect(new Staleness(catalog, versions({})).reasons("clean/1").map((r) => r.message)).toEqual([
      "input raw/1 is stale",
    ]);
    // Same job label, another graph (two graphs sharing one log).
    expect(new Staleness(catalog, versions({}, "other")).reasons("clean/1").map((r) => r.message)).toEqual([
      "built by job clean of graph g; job clean of graph other produces it now",
      "input raw/1 is stale",
    ]);
  });

  it("compares only job labels for manifests written before graph labels were recorded", () => {
    const catalog = new PartitionCatalog();
    built(catalog, "raw/1", "r1");
    expect(new Staleness(catalog, versions({}, "any")).isUsable("raw/1")).toBe(true);
  });
});
