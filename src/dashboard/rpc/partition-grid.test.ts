import { describe, expect, it } from "vitest";
import { PartitionStatus } from "../../gen/databuild_pb.ts";
import { GridRequestError, partitionGrid, type CatalogItem } from "./partition-grid.ts";

const { PARTITION_AVAILABLE: A, PARTITION_FAILED: F, PARTITION_STATUS_UNSPECIFIED: U } = PartitionStatus;
const item = (ref: string, status: PartitionStatus): CatalogItem => [ref, { status }];

describe("partitionGrid", () => {
  it("lays partitions out by the ordered parameter, other parameters as rows, statuses run-length encoded", () => {
    const grid = partitionGrid(
      [
        item("d/c=b/date=2024-01-02", A),
        item("d/c=a/date=2024-01-03", F),
        item("d/c=a/date=2024-01-01", A),
        item("d/c=a/date=2024-01-02", A),
        item("d/c=b/date=2024-01-04", A),
        item("other/x", A),
        item("d/c=a/extra/date=2024-01-01", A),
      ],
      "d/c={c}/date={date}",
      "",
    );
    expect(grid.columnParam).toBe("date");
    expect(grid.columns).toEqual(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]);
    expect(grid.total).toBe(5n);
    expect(grid.rows.map((r) => [r.key, r.statuses, r.counts])).toEqual([
      ["c=a", [A, F, U], [2, 1, 1]],
      ["c=b", [U, A, U, A], [1, 1, 1, 1]],
    ]);
  });

  it("orders numeric values as numbers, and takes the column parameter asked for", () => {
    const grid = partitionGrid([item("n/10/r", A), item("n/9/r", A), item("n/9/s", F)], "n/{n}/{tail}", "n");
    expect(grid.columns).toEqual(["9", "10"]);
    expect(grid.rows.map((r) => [r.key, r.statuses, r.counts])).toEqual([
      ["tail=r", [A], [2]],
      ["tail=s", [F, U], [1, 1]],
    ]);
  });

  it("refuses a malformed pattern, one without parameters, and an unknown column parameter, naming the field", () => {
    expect(() => partitionGrid([], "d/{", "")).toThrow(GridRequestError);
    expect(() => partitionGrid([], "d/all", "")).toThrow(/has no parameter/);
    expect(() => partitionGrid([], "d/{date}", "day")).toThrow(/column_param "day" is not a parameter of d\/\{date\}/);
  });
});
