/**
 * @module RefTable: the planner's working state, keyed by interned ref ids.
 * Each ref string is hashed once per occurrence; after that the planner works
 * on integer ids and typed arrays, which is what keeps analysis linear and
 * cheap at millions of partitions.
 */
export const NONE = -1;

export class RefTable {
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
  /**
   * The hash table: open addressing over ids (NONE = empty), at most half
   * full, with each id's hash kept beside it. A Map<string, number> of
   * millions of refs cost twice as much, mostly in cache misses: here a
   * probe reads one slot and one hash, and a string only when hashes agree.
   */
  private slots: Int32Array;
  private hashes: Int32Array;
  private mask: number;

  constructor(capacity = 1024) {
    this.producer = new Int32Array(capacity).fill(NONE);
    this.neededBy = new Int32Array(capacity).fill(NONE);
    this.queued = new Uint8Array(capacity);
    this.wantedMark = new Int32Array(capacity);
    this.producedMark = new Int32Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.slots = new Int32Array(capacity * 2).fill(NONE);
    this.mask = capacity * 2 - 1;
  }

  /** The id of `ref`, interning it when new (then `added` is true). */
  intern(ref: string): number {
    const hash = hashOf(ref);
    const { slots, hashes, refs } = this;
    let slot = hash & this.mask;
    for (let id = slots[slot]!; id !== NONE; id = slots[slot]!) {
      if (hashes[id] === hash && refs[id] === ref) {
        this.added = false;
        return id;
      }
      slot = (slot + 1) & this.mask;
    }
    const id = refs.length;
    if (id === this.producer.length) {
      this.grow();
      return this.intern(ref);
    }
    refs.push(ref);
    this.hashes[id] = hash;
    this.slots[slot] = id;
    this.added = true;
    return id;
  }

  /** A fresh value for the per-call marks, so they never need clearing. */
  nextStamp(): number {
    return ++this.stamp;
  }

  /** The id of `ref` if interned. */
  idOf(ref: string): number | undefined {
    const hash = hashOf(ref);
    for (let slot = hash & this.mask, id = this.slots[slot]!; id !== NONE; id = this.slots[slot]!) {
      if (this.hashes[id] === hash && this.refs[id] === ref) return id;
      slot = (slot + 1) & this.mask;
    }
    return undefined;
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
    this.hashes = widen(this.hashes, (n) => new Int32Array(n));
    this.slots = new Int32Array(capacity * 2).fill(NONE);
    this.mask = capacity * 2 - 1;
    for (let id = 0; id < this.refs.length; id++) {
      let slot = this.hashes[id]! & this.mask;
      while (this.slots[slot] !== NONE) slot = (slot + 1) & this.mask;
      this.slots[slot] = id;
    }
  }
}

/** FNV-1a over the UTF-16 code units. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5 | 0;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash;
}
