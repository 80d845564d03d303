/**
 * @module EventRecorder: the one stream every build event goes through. It
 * appends to the build event log in batches: every FLUSH_MS, when
 * BATCH_EVENTS are pending, or at once when the build needs durability
 * (`durable()`). A SQLite commit blocks the event loop, so batching by tick
 * alone would commit a few lines of a chatty job at a time; batching by time
 * keeps logging off the critical path. Nothing waits for a batch but the
 * display and other processes (a dependent starts once its producer's
 * manifest is recorded, and the log's append order makes it durable first;
 * what others wait for is `urgentKinds`), so FLUSH_MS is long: each batch
 * costs an fsync and a fenced transaction, which at 25 ms took about a tenth
 * of a build of no-op jobs.
 *
 * Observers (the progress display) see each event once its batch is durable,
 * in recording order, so nothing is shown as done ("ok", a count, a summary)
 * that the log does not hold: after a failed append (a full disk, a log
 * deleted underneath) or a refused one (fenced), the events of that batch and
 * every later one are never shown. That delays the display by at most one
 * batch (FLUSH_MS plus a commit), and costs nothing per event. Without a log
 * (a dry run), observers see events at once.
 *
 * Fencing: with a fence, every batch is appended atomically with the check
 * that no other build request has declared this one lost (the decision is
 * coordination's: src/coordination/fence.ts). Once one has (this
 * process was paused past its lease, and its work was taken over), nothing
 * more is recorded: a late manifest from here would make a partition
 * "built" twice.
 *
 * A job run's task is recorded once (docs/events.md): the build records it in
 * jobScheduleSuccess, and the exec wrapper, which may also run on its own,
 * names it again in its first event. For job runs whose jobScheduleSuccess
 * went through this recorder, later events are recorded without the task
 * (`leanEvent`); events of other job runs are recorded as they come.
 */
import type { BuildEvent, PartitionManifest } from "../gen/databuild_pb.ts";
import type { EventPayload } from "../core/build-event.ts";
import type { EventFilter, EventLog, LoggedEvent } from "../core/event-log.ts";
import { manifestTask } from "../core/hot-payloads.ts";
import { newEvent, type EventScope } from "../core/new-event.ts";
import { declaredLost, fenceFilter, type DeclaredLost } from "../coordination/index.ts";

export type EventObserver = (event: BuildEvent) => void;

export interface RecorderFence {
  readonly buildRequestId: string;
  /**
   * What fences the recorder, when not the declaration that `buildRequestId`
   * is lost: the events to read (`filter`) and the decision on them (`check`).
   * A worker's recorder is fenced by the declaration that the worker is lost.
   */
  readonly filter?: EventFilter;
  readonly check?: (events: readonly LoggedEvent[]) => DeclaredLost | undefined;
  /** The offset up to which the caller knows `check` holds nothing (default 0: the whole log is read once). */
  readonly checkedUpTo?: number;
  /** Called once, when a batch was refused because this build request was declared lost. */
  onLost(detectedBy: string, reason: string): void;
  /** Called once, when an append failed (nothing more will be recorded). */
  onAppendFailed?(error: unknown): void;
  /** Called with each batch once it is durable, and the offsets it got (the build's view keeps its own events). */
  onDurable?(events: readonly BuildEvent[], offsets: readonly number[]): void;
  /**
   * How long an append that failed because the log's database server was
   * unavailable (a restart, a dropped connection) is retried before the
   * recorder gives up (default 0: at once). A retry appends the same events,
   * which the log recognises by their ids if the first attempt did commit.
   */
  readonly retryUnavailableMs?: number;
  /**
   * Kinds another process waits for (a worker for an offer, a build for a
   * run's end): recording one flushes at the end of the current tick instead
   * of after FLUSH_MS.
   */
  readonly urgentKinds?: ReadonlySet<string>;
}

/** The first retry of an append to an unavailable server waits this long; later ones up to a second. */
const RETRY_FIRST_MS = 100;

const FLUSH_MS = 100;
const BATCH_EVENTS = 10_000;
const FENCED_CHUNK = 1000;

export class EventRecorder {
  private pending: BuildEvent[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private failure: unknown;
  private fenceCursor = 0;
  private fenced = false;
  /** A flush at the end of this tick is scheduled (an urgent kind was recorded). */
  private urgent = false;
  /** Job runs whose jobScheduleSuccess was recorded here and that have not ended for good. */
  private readonly scheduled = new Set<string>();

  constructor(
    private readonly log: EventLog | undefined,
    private readonly observers: readonly EventObserver[] = [],
    private readonly fence?: RecorderFence,
  ) {
    this.fenceCursor = fence?.checkedUpTo ?? 0;
  }

  /** The error of the first append that failed (nothing after it is recorded), if any. */
  get appendFailure(): unknown {
    return this.failure;
  }

  /** True once this build request was found declared lost (nothing is recorded any more). */
  get isFenced(): boolean {
    return this.fenced;
  }

  /** Records a payload for `scope`. */
  emit(scope: EventScope, payload: EventPayload): BuildEvent {
    return this.record(newEvent(scope, payload));
  }

  /** Job run `jobRunId` had its jobScheduleSuccess recorded elsewhere (a worker's run): record its later events lean. */
  markScheduled(jobRunId: string): void {
    this.scheduled.add(jobRunId);
  }

  /**
   * Takes note of an event another process recorded for this build (a
   * worker ran the job) at `offset`: the build's view and the observers see
   * it as if recorded here; nothing is appended.
   */
  noteRecorded(event: BuildEvent, offset: number): void {
    leanEvent(event, this.scheduled);
    this.fence?.onDurable?.([event], [offset]);
    this.show([event]);
  }

  /** Records an event made elsewhere (the exec wrapper's); returns it as recorded (see `leanEvent`). */
  record(made: BuildEvent): BuildEvent {
    const event = leanEvent(made, this.scheduled);
    if (!this.log) {
      for (const observe of this.observers) observe(event);
      return event;
    }
    this.pending.push(event);
    if (this.pending.length >= BATCH_EVENTS) this.flush();
    else if (this.fence?.urgentKinds?.has(event.event.case ?? "") && !this.urgent) {
      // Everything recorded in this tick goes in the same batch.
      this.urgent = true;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(), 0);
    } else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
    return event;
  }

  /** Resolves once every event recorded so far is durable in the log; rejects if an append failed. */
  async durable(): Promise<void> {
    this.flush();
    await this.flushing;
    if (this.failure) throw this.failure;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.urgent = false;
    if (this.pending.length === 0 || !this.log) return;
    const batch = this.pending;
    this.pending = [];
    const log = this.log;
    this.flushing = this.flushing
      // After a failed append nothing later is appended: the log may lose its tail, never its middle.
      .then(() =>
        this.failure !== undefined
          ? undefined
          : this.fence
            ? this.appendFenced(log, this.fence, batch)
            : this.retrying(() => log.append(batch)).then(() => this.show(batch)),
      )
      .catch((error: unknown) => {
        if (this.failure !== undefined) return;
        this.failure = error;
        this.fence?.onAppendFailed?.(error);
      });
  }

  /** Runs `append`, again while it fails with an unavailable server, for at most `retryUnavailableMs`. */
  private async retrying<T>(append: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.fence?.retryUnavailableMs ?? 0);
    for (let waitMs = RETRY_FIRST_MS; ; waitMs = Math.min(1000, waitMs * 2)) {
      try {
        return await append();
      } catch (error) {
        if (!isUnavailable(error) || Date.now() + waitMs > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  /** Hands durable events to the observers. A throwing observer must not look like a failed append. */
  private show(events: readonly BuildEvent[]): void {
    if (this.observers.length === 0) return;
    for (const event of events) {
      for (const observe of this.observers) {
        try {
          observe(event);
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    }
  }

  private async appendFenced(log: EventLog, fence: RecorderFence, batch: BuildEvent[]): Promise<void> {
    // Short transactions: other build requests wait for the write lock meanwhile.
    for (let i = 0; i < batch.length && !this.fenced; i += FENCED_CHUNK)
      await this.appendChunkFenced(log, fence, batch.slice(i, i + FENCED_CHUNK));
  }

  private async appendChunkFenced(log: EventLog, fence: RecorderFence, batch: BuildEvent[]): Promise<void> {
    const filter = fence.filter ?? fenceFilter(fence.buildRequestId);
    const check = fence.check ?? ((found: readonly LoggedEvent[]) => declaredLost(fence.buildRequestId, found));
    const outcome = await this.retrying(() =>
      log.appendAtomically(this.fenceCursor, filter, (found) => {
        const lost = check(found);
        return lost ? { append: [], result: lost } : { append: batch, result: undefined };
      }),
    );
    this.fenceCursor = outcome.head;
    const lost = outcome.result;
    if (!lost) {
      fence.onDurable?.(batch, outcome.offsets);
      this.show(batch);
      return;
    }
    this.fenced = true;
    this.pending = [];
    fence.onLost(lost.detectedBy, lost.reason);
  }
}

/**
 * `event` as the log records it when `scheduled` holds the job runs whose
 * jobScheduleSuccess is already recorded: their later events carry no task
 * (a manifest keeps the job, not the config) and a manifest's inputs no
 * built_at. Updates `scheduled`. Returns `event` itself when nothing is left
 * out (a copy otherwise: the runner may still hold the original, e.g. the
 * manifest of its outcome).
 */
export function leanEvent(event: BuildEvent, scheduled: Set<string>): BuildEvent {
  const p = event.event;
  const id = event.jobRunId;
  switch (p.case) {
    case "jobScheduleSuccess":
      if (id) scheduled.add(id);
      return event;
    case "configValidateSuccess":
    case "configValidateFail":
    case "taskLaunchSuccess":
    case "taskLaunchFail":
      if (p.value.task === undefined || !scheduled.has(id)) return event;
      return { ...event, event: { case: p.case, value: { ...p.value, task: undefined } } as EventPayload };
    case "jobFailure":
      // The run has failed for good: nothing more comes for it.
      if (!scheduled.delete(id) || p.value.task === undefined) return event;
      return { ...event, event: { case: p.case, value: { ...p.value, task: undefined } } };
    case "partitionManifest": {
      if (!scheduled.delete(id)) return event;
      const manifest = p.value;
      // The wrapper writes manifests lean already; older wrappers (a relay) may not.
      if (manifest.task?.config === undefined && manifest.inputs.every((i) => i.builtAt === undefined)) return event;
      const lean: PartitionManifest = {
        ...manifest,
        task: manifestTask(manifest.task),
        inputs: manifest.inputs.map((i) => (i.builtAt === undefined ? i : { ...i, builtAt: undefined })),
      };
      return { ...event, event: { case: p.case, value: lean } };
    }
    default:
      return event;
  }
}

/** An error of a log whose database server is unavailable for now (EventLogStorageError "unavailable"). */
function isUnavailable(error: unknown): boolean {
  return (error as { problem?: unknown } | undefined)?.problem === "unavailable";
}
