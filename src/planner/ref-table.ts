/**
 * @module RefTable: the planner's working state, keyed by interned ref ids.
 * Each distinct ref string is hashed once, when first met; after that the
 * planner works on integer ids and arrays, which is what keeps analysis
 * linear and cheap at hundreds of thousands of partitions.
 */
export const NONE = -1;

export class RefTable {
  private readonly ids = new Map<string, number>();
  /** Ref string by id. */
  readonly refs: string[] = [];
  /** Producing task by id, or NONE. */
  readonly producer: number[] = [];
  /** The job that first asked for a ref as an input (for messages), by id. */
  readonly neededBy: (string | undefined)[] = [];
  /** 1 once a ref was requested or met as a MATERIALIZE input: it is never dispatched twice. */
  readonly queued: number[] = [];
  /** Per-call marks (see `nextStamp`): wanted by, and produced by, the config call being checked. */
  readonly wantedMark: number[] = [];
  readonly producedMark: number[] = [];
  private stamp = 0;

  /** The id of `ref`, interning it (and checking it is well formed) when new. */
  intern(ref: string): number {
    let id = this.ids.get(ref);
    if (id === undefined) {
      id = this.refs.length;
      this.ids.set(ref, id);
      this.refs.push(ref);
      this.producer.push(NONE);
      this.neededBy.push(undefined);
      this.queued.push(0);
      this.wantedMark.push(0);
      this.producedMark.push(0);
    }
    return id;
  }

  /** A fresh value for the per-call marks, so they never need clearing. */
  nextStamp(): number {
    return ++this.stamp;
  }

  /** The id of `ref` if interned. */
  idOf(ref: string): number | undefined {
    return this.ids.get(ref);
  }

  get size(): number {
    return this.refs.length;
  }
}
