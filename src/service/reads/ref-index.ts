/**
 * @module The catalog's refs in ref order, for ListPartitions: built from the
 * catalog at the first list, then kept up to date from the live log (new refs
 * wait in a small pending list and are merged in at the next list). A ref
 * never leaves the catalog, so the index only grows.
 */
import type { LoggedEvent } from "../../core/event-log.ts";
import type { LiveLog } from "./live-log.ts";

export class RefIndex {
  private sorted: string[] | undefined;
  private pending: string[] = [];
  private pendingSet = new Set<string>();

  constructor(private readonly live: LiveLog) {}

  /** Every ref in the catalog, in ref order (String comparison). */
  refs(): readonly string[] {
    if (!this.sorted) {
      this.sorted = [...this.live.catalog.entries()].map(([ref]) => ref).sort(compare);
      // Built and subscribed in one synchronous step: no event falls between the two.
      this.live.onEvents((events) => this.note(events));
    }
    if (this.pending.length > 0) {
      this.sorted = merge(this.sorted, this.pending.sort(compare));
      this.pending = [];
      this.pendingSet.clear();
    }
    return this.sorted;
  }

  /** The index of the first ref `>= ref` (or `> ref` with `after`). */
  static lowerBound(refs: readonly string[], ref: string, after = false): number {
    let lo = 0;
    let hi = refs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = refs[mid]!;
      if (r < ref || (after && r === ref)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private note(events: readonly LoggedEvent[]): void {
    for (const { event } of events) {
      const p = event.event;
      if (p.case === "partitionManifest") for (const o of p.value.outputs) this.add(o.str);
      else if (p.case === "partitionStatusChanged") this.add(p.value.partitionRef?.str ?? "");
    }
  }

  private add(ref: string): void {
    const sorted = this.sorted!;
    const at = RefIndex.lowerBound(sorted, ref);
    if (sorted[at] === ref || this.pendingSet.has(ref)) return;
    this.pendingSet.add(ref);
    this.pending.push(ref);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function merge(a: readonly string[], b: readonly string[]): string[] {
  const out = new Array<string>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}
