/**
 * @module The status grid's model: the runs of each row (from
 * GetPartitionGrid), looked up by column in O(log runs), and the refs of
 * cells. No per-partition objects: 100,000 partitions stay a few arrays.
 */
import { PartitionStatus, type GetPartitionGridResponse } from "../../../gen/databuild_pb.ts";

export interface GridRow {
  readonly key: string;
  /** Start column of each run, and one past the last. */
  readonly starts: Uint32Array;
  readonly statuses: Uint8Array;
}

export interface GridModel {
  readonly pattern: string;
  readonly columnParam: string;
  readonly columns: readonly string[];
  readonly rows: readonly GridRow[];
  readonly total: number;
  /** Partitions per status over the whole grid. */
  readonly counts: ReadonlyMap<PartitionStatus, number>;
}

export function gridModel(pattern: string, response: GetPartitionGridResponse): GridModel {
  const counts = new Map<PartitionStatus, number>();
  const rows = response.rows.map((row) => {
    const starts = new Uint32Array(row.counts.length + 1);
    const statuses = new Uint8Array(row.statuses.length);
    let at = 0;
    row.counts.forEach((count, i) => {
      starts[i] = at;
      at += count;
      const status = row.statuses[i]!;
      statuses[i] = status;
      if (status !== PartitionStatus.PARTITION_STATUS_UNSPECIFIED)
        counts.set(status, (counts.get(status) ?? 0) + count);
    });
    starts[row.counts.length] = at;
    return { key: row.key, starts, statuses };
  });
  return {
    pattern,
    columnParam: response.columnParam,
    columns: response.columns,
    rows,
    total: Number(response.total),
    counts,
  };
}

/** The status of one cell (UNSPECIFIED: no partition there). */
export function cellStatus(row: GridRow, column: number): PartitionStatus {
  const { starts } = row;
  let lo = 0;
  let hi = starts.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= column) lo = mid;
    else hi = mid - 1;
  }
  return (row.statuses[lo] ?? PartitionStatus.PARTITION_STATUS_UNSPECIFIED) as PartitionStatus;
}

/** The ref of a cell: the pattern with the row's parameters and the column's value. */
export function cellRef(model: GridModel, row: GridRow, column: number): string {
  const params = new Map<string, string>();
  for (const part of row.key ? row.key.split("/") : []) {
    const eq = part.indexOf("=");
    params.set(part.slice(0, eq), part.slice(eq + 1));
  }
  params.set(model.columnParam, model.columns[column] ?? "");
  return model.pattern.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => params.get(name) ?? "");
}

/**
 * How much a status asks for attention when several share one pixel: a
 * failure among a thousand available partitions must still show.
 */
const SEVERITY: Partial<Record<PartitionStatus, number>> = {
  [PartitionStatus.PARTITION_AVAILABLE]: 1,
  [PartitionStatus.PARTITION_DELEGATED]: 2,
  [PartitionStatus.PARTITION_REQUESTED]: 3,
  [PartitionStatus.PARTITION_INVALIDATED]: 4,
  [PartitionStatus.PARTITION_SCHEDULED]: 5,
  [PartitionStatus.PARTITION_BUILDING]: 6,
  [PartitionStatus.PARTITION_FAILED]: 7,
};

/**
 * The status to draw in each of `pixels` pixels of a row showing columns
 * [from, to): of the statuses there, the one the filter keeps (if it keeps
 * any), then the most severe. UNSPECIFIED where no partition is. One pass
 * over the row's runs, whatever the number of partitions.
 */
export function rowPixels(
  row: GridRow,
  from: number,
  to: number,
  pixels: number,
  filter: ReadonlySet<PartitionStatus> = new Set(),
): Uint8Array {
  const out = new Uint8Array(pixels);
  const rank = new Uint8Array(pixels);
  const scale = pixels / (to - from);
  for (let i = 0; i < row.statuses.length; i++) {
    const status = row.statuses[i]! as PartitionStatus;
    if (status === PartitionStatus.PARTITION_STATUS_UNSPECIFIED) continue;
    const start = Math.max(row.starts[i]!, from);
    const end = Math.min(row.starts[i + 1]!, to);
    if (end <= start) continue;
    const r = (filter.size === 0 || filter.has(status) ? 10 : 0) + (SEVERITY[status] ?? 0);
    const first = Math.floor((start - from) * scale);
    const last = Math.min(pixels - 1, Math.ceil((end - from) * scale) - 1);
    for (let p = first; p <= last; p++) {
      if (r > rank[p]!) {
        rank[p] = r;
        out[p] = status;
      }
    }
  }
  return out;
}
