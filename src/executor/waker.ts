/**
 * @module A wake-up the build loop sleeps on: a job ended, a retry is due,
 * the build was cancelled, or the heartbeat period passed.
 */
export class Waker {
  private wake: (() => void) | undefined;
  private woken = false;

  notify(): void {
    this.woken = true;
    this.wake?.();
  }

  /** Resolves on the next notify (or at once if one came since the last wait), or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
