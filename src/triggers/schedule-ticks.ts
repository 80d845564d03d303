/**
 * @module Which ticks of a schedule are due: its cron occurrences after the
 * latest tick the log records (or, for a schedule that never ticked, after
 * the runner started) up to now. The newest `catchUpLimit` of them are
 * evaluated; any older ones are recorded once, together, as MISSED.
 */
import type { ScheduleDefinition } from "../core/triggers.ts";

export interface DueTicks {
  /** Tick times to evaluate, oldest first. */
  readonly evaluate: readonly number[];
  /** Ticks past the catch-up limit: the first and the last of them. */
  readonly missed?: { readonly firstMs: number; readonly lastMs: number };
}

/** The ticks of `schedule` in (afterMs, nowMs]. */
export function dueTicks(
  schedule: Pick<ScheduleDefinition, "times" | "catchUpLimit">,
  afterMs: number,
  nowMs: number,
): DueTicks {
  const newest: number[] = [];
  let tick = schedule.times.prev(nowMs + 1);
  while (tick !== undefined && tick > afterMs && newest.length < schedule.catchUpLimit) {
    newest.push(tick);
    tick = schedule.times.prev(tick);
  }
  const evaluate = newest.reverse();
  if (tick === undefined || tick <= afterMs) return { evaluate };
  const firstMs = schedule.times.next(afterMs) ?? tick;
  return { evaluate, missed: { firstMs, lastMs: tick } };
}

/** A schedule's tick key: its time, ISO 8601 in UTC. */
export function scheduleTickKey(tickMs: number): string {
  return new Date(tickMs).toISOString();
}
