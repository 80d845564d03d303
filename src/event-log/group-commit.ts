/**
 * @module Group commit: many concurrent appends, one durable transaction.
 */

/** Commits a batch atomically and returns one result per item, in order. */
export type CommitBatch<T, R> = (items: readonly T[]) => R[] | Promise<R[]>;

interface Waiter<T, R> {
  readonly items: readonly T[];
  readonly resolve: (results: R[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Queues submissions and commits everything queued in one batch per event
 * loop turn (`setImmediate`), or at once when `maxBatch` items are waiting.
 * Submissions are committed in submission order and each one whole in a
 * single batch, so results come back in call order and a caller never sees
 * half of its items committed. A failed batch rejects exactly the callers in
 * it; later batches still run. At most one commit runs at a time: what
 * arrives meanwhile forms the next batch (the classic group commit, so one
 * fsync covers every caller waiting on it). Between batches the loop yields
 * to the event loop.
 */
export class GroupCommit<T, R> {
  private queue: Waiter<T, R>[] = [];
  private queuedItems = 0;
  private scheduled = false;
  private running = false;

  constructor(
    private readonly commit: CommitBatch<T, R>,
    private readonly maxBatch: number,
  ) {}

  /** Resolves with the results for `items` once their batch has committed. */
  submit(items: readonly T[]): Promise<R[]> {
    return new Promise<R[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.queuedItems += items.length;
      if (this.running) return; // the running loop picks this up
      if (this.queuedItems >= this.maxBatch) this.start();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.start();
        });
      }
    });
  }

  /** Resolves once everything submitted before the call has been committed (or has failed). */
  async flush(): Promise<void> {
    await this.submit([]);
  }

  private start(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.takeBatch();
        const items = batch.flatMap((w) => w.items);
        try {
          const results = items.length > 0 ? await this.commit(items) : [];
          let at = 0;
          for (const w of batch) {
            w.resolve(results.slice(at, at + w.items.length));
            at += w.items.length;
          }
        } catch (error) {
          for (const w of batch) w.reject(error);
        }
        // Let timers and I/O run between batches: a synchronous backend
        // would otherwise hold the event loop until a long queue drains.
        if (this.queue.length > 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      // Reached synchronously after the last `queue.length` check, so no
      // submission can slip in between and find `running` stuck at true.
      this.running = false;
    }
  }

  /** Whole submissions from the front of the queue, up to `maxBatch` items (at least one submission). */
  private takeBatch(): Waiter<T, R>[] {
    let n = 0;
    let count = 0;
    while (n < this.queue.length) {
      const size = this.queue[n]!.items.length;
      if (n > 0 && count + size > this.maxBatch) break;
      count += size;
      n++;
    }
    this.queuedItems -= count;
    return this.queue.splice(0, n);
  }
}
