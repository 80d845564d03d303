import { describe, expect, it } from "vitest";
import { PartitionStatus } from "../../../gen/databuild_pb.ts";
import { rowPixels, type GridRow } from "./grid-model.ts";

const { PARTITION_AVAILABLE: OK, PARTITION_FAILED: FAILED, PARTITION_INVALIDATED: INVALID } = PartitionStatus;

/** A row of `runs` [status, length] in order. */
function row(...runs: [PartitionStatus, number][]): GridRow {
  const starts = new Uint32Array(runs.length + 1);
  runs.forEach(([, n], i) => (starts[i + 1] = starts[i]! + n));
  return { key: "", starts, statuses: Uint8Array.from(runs.map(([s]) => s)) };
}

describe("rowPixels", () => {
  it("shows one failure among a thousand available partitions sharing its pixel", () => {
    const pixels = rowPixels(row([OK, 5_000], [FAILED, 1], [OK, 4_999]), 0, 10_000, 100);
    expect(pixels[50]).toBe(FAILED);
    expect([...pixels].filter((s) => s === FAILED)).toHaveLength(1);
    expect([...pixels].filter((s) => s === OK)).toHaveLength(99);
  });

  it("prefers a status the filter keeps over a more severe one it dims", () => {
    const cells = row([OK, 10], [FAILED, 1], [OK, 9]);
    expect(rowPixels(cells, 0, 20, 2, new Set([OK]))[1]).toBe(OK);
    expect(rowPixels(cells, 0, 20, 2, new Set([INVALID]))[1]).toBe(FAILED);
  });

  it("draws one cell over several pixels when zoomed in, and leaves empty columns empty", () => {
    const pixels = rowPixels(row([OK, 2], [PartitionStatus.PARTITION_STATUS_UNSPECIFIED, 1], [FAILED, 1]), 1, 4, 6);
    expect([...pixels]).toEqual([OK, OK, 0, 0, FAILED, FAILED]);
  });
});
