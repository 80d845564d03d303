/**
 * @module The status grid of one output pattern: every partition the
 * catalog knows that matches it, as rows (the other parameters' values) by
 * columns (the ordered parameter's values), each row's statuses run-length
 * encoded. So 100,000 partitions of a daily dataset cost a few runs per row
 * on the wire, not 100,000 PartitionStatusViews.
 */
import { create } from "@bufbuild/protobuf";
import {
  GetPartitionGridResponseSchema,
  PartitionGridRowSchema,
  PartitionStatus,
  type GetPartitionGridResponse,
} from "../../gen/databuild_pb.ts";
import { parseOutputPattern } from "../../core/output-pattern.ts";

/** A partition ref and its latest status, as the catalog yields them. */
export type CatalogItem = readonly [ref: string, entry: { readonly status: PartitionStatus }];

/** A request the grid cannot answer, naming the field at fault. */
export class GridRequestError extends Error {}

const collator = new Intl.Collator("en", { numeric: true });

/**
 * Builds the grid of `pattern` along `columnParam` (empty: its last
 * parameter). Throws GridRequestError for a bad pattern or parameter.
 */
export function partitionGrid(
  items: Iterable<CatalogItem>,
  pattern: string,
  columnParam: string,
): GetPartitionGridResponse {
  const parsed = parseOutputPattern(pattern);
  if (typeof parsed === "string") throw new GridRequestError(`pattern ${JSON.stringify(pattern)}: ${parsed}`);
  if (parsed.paramNames.length === 0) {
    throw new GridRequestError(`pattern ${JSON.stringify(pattern)} has no parameter to lay partitions out along`);
  }
  const column = columnParam || parsed.paramNames[parsed.paramNames.length - 1]!;
  if (!parsed.paramNames.includes(column)) {
    throw new GridRequestError(
      `column_param ${JSON.stringify(column)} is not a parameter of ${pattern} (${parsed.paramNames.join(", ")})`,
    );
  }
  const rowParams = parsed.paramNames.filter((name) => name !== column);
  // Per row: the column values and statuses of its cells, in catalog order.
  const cells = new Map<string, { values: string[]; statuses: PartitionStatus[] }>();
  const columnValues = new Set<string>();
  let total = 0;
  for (const [ref, entry] of items) {
    if (!ref.startsWith(parsed.literalPrefix)) continue;
    const params = parsed.match(ref);
    if (!params) continue;
    total++;
    const value = params[column]!;
    columnValues.add(value);
    const key = rowParams.map((name) => `${name}=${params[name]}`).join("/");
    let row = cells.get(key);
    if (!row) cells.set(key, (row = { values: [], statuses: [] }));
    row.values.push(value);
    row.statuses.push(entry.status);
  }
  const columns = [...columnValues].sort(collator.compare);
  const columnIndex = new Map(columns.map((value, i) => [value, i]));
  const rows = [...cells.keys()].sort(collator.compare).map((key) => {
    const row = cells.get(key)!;
    const order = row.values.map((value, i) => [columnIndex.get(value)!, row.statuses[i]!] as const);
    order.sort((a, b) => a[0] - b[0]);
    const statuses: PartitionStatus[] = [];
    const counts: number[] = [];
    const push = (status: PartitionStatus, count: number) => {
      if (count === 0) return;
      if (statuses.length > 0 && statuses[statuses.length - 1] === status) counts[counts.length - 1]! += count;
      else {
        statuses.push(status);
        counts.push(count);
      }
    };
    let next = 0;
    for (const [index, status] of order) {
      push(PartitionStatus.PARTITION_STATUS_UNSPECIFIED, index - next);
      push(status, 1);
      next = index + 1;
    }
    push(PartitionStatus.PARTITION_STATUS_UNSPECIFIED, columns.length - next);
    return create(PartitionGridRowSchema, { key, statuses, counts });
  });
  return create(GetPartitionGridResponseSchema, { columnParam: column, columns, rows, total: BigInt(total) });
}
