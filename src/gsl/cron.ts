/**
 * @module Cron expressions in a time zone (cron-parser 5): the occurrences a
 * schedule ticks at, for both GSLs. Five fields (minute first) or six
 * (seconds first), and cron-parser's @daily, @hourly, ... names.
 */
import type { CronExpressionParser } from "cron-parser";
import type { CronTimes } from "../core/triggers.ts";

let parser: typeof CronExpressionParser | undefined;

/**
 * cron-parser, loaded when a cron expression is first compiled: with luxon it
 * is about 0.3 MB of modules, which every command that loads a graph without
 * schedules (most) would otherwise load for nothing. (It is CommonJS: a
 * synchronous require, as compiling a schedule is synchronous.)
 */
function cronParser(): typeof CronExpressionParser {
  if (!parser) {
    const { createRequire } = process.getBuiltinModule("node:module");
    const cron = createRequire(import.meta.url)("cron-parser") as typeof import("cron-parser");
    parser = cron.CronExpressionParser;
  }
  return parser;
}

/** Why `timeZone` is not an IANA time zone this runtime knows, or undefined. */
export function timeZoneProblem(timeZone: unknown): string | undefined {
  if (typeof timeZone !== "string" || timeZone === "")
    return "the time zone must be an IANA name such as Europe/Berlin";
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return undefined;
  } catch {
    return `unknown time zone ${JSON.stringify(timeZone)}: use an IANA name such as "UTC" or "Europe/Berlin"`;
  }
}

/** The occurrences of `expression` in `timeZone`, or a message saying what is wrong with it. */
export function compileCron(expression: unknown, timeZone: string): CronTimes | string {
  if (typeof expression !== "string" || expression.trim() === "")
    return 'the cron expression must be a non-empty string such as "0 3 * * *"';
  const zone = timeZoneProblem(timeZone);
  if (zone) return zone;
  const cron = cronParser();
  const at = (currentDate: number) => cron.parse(expression, { tz: timeZone, currentDate });
  try {
    at(Date.now());
  } catch (error) {
    return `cron expression ${JSON.stringify(expression)}: ${(error as Error).message}`;
  }
  const step = (fromMs: number, direction: "next" | "prev"): number | undefined => {
    const cron = at(fromMs);
    if (direction === "next" ? !cron.hasNext() : !cron.hasPrev()) return undefined;
    try {
      return (direction === "next" ? cron.next() : cron.prev()).getTime();
    } catch {
      return undefined; // no occurrence within the library's search window (Feb 30)
    }
  };
  return { next: (afterMs) => step(afterMs, "next"), prev: (beforeMs) => step(beforeMs, "prev") };
}
