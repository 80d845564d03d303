/**
 * @module Job runs by their number in the `ids` table, as lean manifests of
 * schema version 5 name their inputs' job runs (sqlite-row.ts). A committed
 * number never changes, so names are remembered per connection; `forget`
 * when the connection is replaced (perhaps by another file, numbered its own
 * way).
 */
import { fromStoredId, type StoredId } from "../stored-id.ts";

/** Names remembered; past it the memory starts afresh. */
const KEPT = 100_000;

export class JobRunNames {
  private readonly names = new Map<number, string>();

  /** `lookup`: the stored id of number `id` in the `ids` table, or undefined. */
  constructor(private readonly lookup: (id: number) => StoredId | undefined) {}

  /** The job run of number `id`. Throws when the ids table has no such number (a damaged log). */
  readonly nameOf = (id: number): string => {
    let name = this.names.get(id);
    if (name !== undefined) return name;
    const value = this.lookup(id);
    if (value === undefined) throw new Error(`its manifest names job run number ${id}, which the ids table lacks`);
    if (this.names.size >= KEPT) this.names.clear();
    this.names.set(id, (name = fromStoredId(value)));
    return name;
  };

  forget(): void {
    this.names.clear();
  }
}
