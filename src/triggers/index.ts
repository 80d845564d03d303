/**
 * @module Triggers (SPEC 3.8): the runner every service replica runs
 * (schedules and sensors, each tick claimed in the log exactly once), the
 * trigger book it keeps, the views `databuild triggers` and ListTriggers
 * show, and pausing and resuming. The declarations are in
 * src/core/triggers.ts; the GSL helpers in src/gsl/define-trigger.ts.
 */
export { TriggerRunner } from "./trigger-runner.ts";
export type { TriggerRunnerOptions } from "./trigger-runner.ts";
export { TriggerBook, TRIGGER_BOOK_KINDS, outcomeWord } from "../core/projections/triggers.ts";
export type { TickRecord, TriggerRecord } from "../core/projections/triggers.ts";
export { loadTriggerBook, setTriggerPaused, UnknownTriggerError } from "./trigger-book.ts";
export { triggerView, triggerViews } from "./trigger-views.ts";
export { dueTicks, scheduleTickKey } from "./schedule-ticks.ts";
export type { DueTicks } from "./schedule-ticks.ts";
export { eagerCandidates, eagerFiringKey } from "./eager-candidates.ts";
