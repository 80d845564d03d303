/**
 * @module The trigger book: what the log says of each trigger (SPEC 3.8),
 * folded from TriggerTick, TriggerPaused and TriggerResumed: the tick keys
 * claimed (at most one TriggerTick per trigger and key: a runner claims a
 * key inside an atomic append that checks this book), the latest tick, and
 * whether it is paused. Triggers are named as the graph names them; a book
 * knows names the graph may no longer declare.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { TriggerOutcome, type BuildEvent } from "../../gen/databuild_pb.ts";
import type { EventCase } from "../build-event.ts";
import { ReadModelStateError, refill, stateObject, type ReadModel } from "../read-model.ts";

export const TRIGGER_BOOK_KINDS: readonly EventCase[] = ["triggerTick", "triggerPaused", "triggerResumed"];

/** One TriggerTick as the book keeps it. */
export interface TickRecord {
  readonly key: string;
  readonly tickMs: number;
  readonly outcome: TriggerOutcome;
  /** The build request it made ("" for none). */
  readonly buildRequestId: string;
  readonly message: string;
  readonly partitions: readonly string[];
  readonly evaluatedBy: string;
  /** Its offset in the log. */
  readonly offset: number;
}

export interface TriggerRecord {
  readonly name: string;
  /** Every tick key claimed (a sensor's firing keys, a schedule's tick times). */
  readonly keys: Set<string>;
  /** The tick recorded last (the highest offset). */
  last?: TickRecord;
  /** The latest tick time of any tick recorded (a schedule's catch-up starts after it). */
  latestTickMs?: number;
  paused: boolean;
  /** Who paused or resumed it last, and at which offset. */
  pausedBy: string;
  pauseOffset: number;
}

export class TriggerBook implements ReadModel {
  readonly name = "trigger-book";
  readonly version = 1;
  readonly kinds = TRIGGER_BOOK_KINDS;
  private readonly triggers = new Map<string, TriggerRecord>();

  apply(event: BuildEvent, offset: number): void {
    const payload = event.event;
    if (payload.case === "triggerTick") {
      const tick = payload.value;
      const record = this.recordOf(tick.trigger);
      const tickMs = tick.tickTime ? timestampMs(tick.tickTime) : 0;
      record.keys.add(tick.tickKey);
      record.last = {
        key: tick.tickKey,
        tickMs,
        outcome: tick.outcome,
        buildRequestId: event.buildRequestId,
        message: tick.message,
        partitions: tick.partitions.map((p) => p.str),
        evaluatedBy: tick.evaluatedBy,
        offset,
      };
      if (record.latestTickMs === undefined || tickMs > record.latestTickMs) record.latestTickMs = tickMs;
    } else if (payload.case === "triggerPaused" || payload.case === "triggerResumed") {
      const record = this.recordOf(payload.value.trigger);
      record.paused = payload.case === "triggerPaused";
      record.pausedBy = payload.value.by;
      record.pauseOffset = offset;
    }
  }

  /** What the log says of `name` (undefined: nothing yet). */
  get(name: string): TriggerRecord | undefined {
    return this.triggers.get(name);
  }

  /** Whether `name` recorded a tick with `key` already. */
  claimed(name: string, key: string): boolean {
    return this.triggers.get(name)?.keys.has(key) ?? false;
  }

  isPaused(name: string): boolean {
    return this.triggers.get(name)?.paused ?? false;
  }

  names(): string[] {
    return [...this.triggers.keys()];
  }

  saveState(): unknown {
    return { triggers: this.triggers };
  }

  restoreState(state: unknown): void {
    const saved = stateObject(this.name, state, ["triggers"]);
    refill(this.name, this.triggers, saved.triggers);
    for (const record of this.triggers.values())
      if (!(record.keys instanceof Set)) throw new ReadModelStateError(this.name, "a trigger's keys are not a set");
  }

  private recordOf(name: string): TriggerRecord {
    let record = this.triggers.get(name);
    if (!record) {
      record = { name, keys: new Set(), paused: false, pausedBy: "", pauseOffset: 0 };
      this.triggers.set(name, record);
    }
    return record;
  }
}

/** The outcome's word in listings: "requested", "nothing to do", "paused", "missed", "failed". */
export function outcomeWord(outcome: TriggerOutcome): string {
  switch (outcome) {
    case TriggerOutcome.TRIGGER_REQUESTED:
      return "requested";
    case TriggerOutcome.TRIGGER_NOTHING_TO_DO:
      return "nothing to do";
    case TriggerOutcome.TRIGGER_PAUSED_AT_TICK:
      return "paused";
    case TriggerOutcome.TRIGGER_MISSED:
      return "missed";
    case TriggerOutcome.TRIGGER_FAILED:
      return "failed";
    default:
      return "unknown";
  }
}
