/**
 * @module RefTable: the planner's working state, keyed by interned ref ids.
 * Each distinct ref string is hashed once, when first met; after that the
 * planner works on integer ids and typed arrays, which is what keeps analysis
 * linear and cheap at millions of partitions.
 */
export const NONE = -1;

export class RefTable {
  private readonly ids = new Map<string, number>();
  /** Ref string by id. */
  readonly refs: string[] = [];
  /** Producing task by id, or NONE. */
  producer: Int32Array;
  /** The index of the job that first asked for a ref as an input (for messages), or NONE. */
  neededBy: Int32Array;
  /** 1 once a ref was requested or met as a MATERIALIZE input: it is never dispatched twice. */
  queued: Uint8Array;
  /** Per-call marks (see `nextStamp`): wanted by, and produced by, the config call being checked. */
  wantedMark: Int32Array;
  producedMark: Int32Array;
  /** True when the last `intern` added its ref. */
  added = false;
  private stamp = 0;

  constructor(capacity = 1024) {
    this.producer = new Int32Array(capacity).fill(NONE);
    this.neededBy = new Int32Array(capacity).fill(NONE);
    this.queued = new Uint8Array(capacity);
    this.wantedMark = new Int32Array(capacity);
    this.producedMark = new Int32Array(capacity);
  }

  /** The id of `ref`, interning it when new (then `added` is true). */
  intern(ref: string): number {
    const known = this.ids.get(ref);
    if (known !== undefined) {
      this.added = false;
      return known;
    }
    const id = this.refs.length;
    if (id === this.producer.length) this.grow();
    this.ids.set(ref, id);
    this.refs.push(ref);
    this.added = true;
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

  private grow(): void {
    const capacity = this.producer.length * 2;
    const widen = <T extends Int32Array | Uint8Array>(old: T, make: (n: number) => T, fill?: number): T => {
      const next = make(capacity);
      next.set(old);
      if (fill !== undefined) next.fill(fill, old.length);
      return next;
    };
    this.producer = widen(this.producer, (n) => new Int32Array(n), NONE);
    this.neededBy = widen(this.neededBy, (n) => new Int32Array(n), NONE);
    this.queued = widen(this.queued, (n) => new Uint8Array(n));
    this.wantedMark = widen(this.wantedMark, (n) => new Int32Array(n));
    this.producedMark = widen(this.producedMark, (n) => new Int32Array(n));
  }
}
