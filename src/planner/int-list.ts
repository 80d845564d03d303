/**
 * @module IntList: a growable list of 32-bit integers in one Int32Array, the
 * planner's building block for ids and adjacency (no boxed numbers, nothing
 * for the garbage collector to trace).
 */
export class IntList {
  private data: Int32Array;
  length = 0;

  constructor(capacity = 16) {
    this.data = new Int32Array(Math.max(1, capacity));
  }

  push(value: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = value;
  }

  get(index: number): number {
    return this.data[index]!;
  }

  /** Appends `count` values of `from` starting at `start`. */
  append(from: IntList, start = 0, count = from.length - start): void {
    if (this.length + count > this.data.length) this.grow(this.length + count);
    this.data.set(from.data.subarray(start, start + count), this.length);
    this.length += count;
  }

  /** The values, trimmed to length (a copy). */
  toArray(): Int32Array {
    return this.data.slice(0, this.length);
  }

  /** The values without copying: valid until the next push. */
  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }

  private grow(needed: number): void {
    let capacity = this.data.length * 2;
    while (capacity < needed) capacity *= 2;
    const data = new Int32Array(capacity);
    data.set(this.data.subarray(0, this.length));
    this.data = data;
  }
}
