/**
 * @module A cancel from another process (SPEC 3.7, CancelBuildRequest): every
 * running build, service or CLI, checks the log for a CancelRequested in its
 * own scope and then stops as Ctrl-C would. A check reads only the build's
 * own events since the last one (the log indexes events by build request),
 * so it costs what the build logged meanwhile, not the length of the log.
 */
import type { EventLog } from "../core/event-log.ts";

/** How often a build looks for a cancel recorded by another process. */
export const CANCEL_CHECK_MS = 250;

/** The abort reason of a build cancelled through the log: who asked and why. */
export class CancelRequestedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CancelRequestedError";
  }
}

export class CancelWatch {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Every event of the build at or before this offset has been looked at. */
  private checkedUpTo = 0;

  constructor(
    private readonly log: EventLog,
    private readonly buildRequestId: string,
    private readonly intervalMs = CANCEL_CHECK_MS,
  ) {
    this.schedule(0);
  }

  /** Aborted (with a CancelRequestedError saying who asked and why) once a CancelRequested of the build is logged. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check(), delayMs);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    try {
      // Nothing at or below the head can still commit (the log's commit order), so the next check starts there.
      const head = await this.log.head();
      const events = await this.log.read(this.checkedUpTo, {
        buildRequestId: this.buildRequestId,
        kinds: ["cancelRequested"],
      });
      this.checkedUpTo = Math.max(head, ...events.map((e) => e.offset));
      for (const { event } of events) {
        if (event.event.case !== "cancelRequested") continue;
        const { requestedBy, reason } = event.event.value;
        const by = requestedBy ? ` by ${requestedBy}` : "";
        this.controller.abort(new CancelRequestedError(`the build was cancelled${by}${reason ? ` (${reason})` : ""}`));
        return this.stop();
      }
    } catch {
      // The log is unreachable for now: the build's own appends notice that; look again later.
    }
    this.schedule(this.intervalMs);
  }
}
