/**
 * @module The service's own log (not the build event log): structured JSON
 * lines on stderr (pino), one per request and one per build start and end,
 * for the operator's log collector.
 */
import { pino, type Logger } from "pino";

export type ServiceLogger = Logger;

/** A logger writing JSON lines to `destination` (default: stderr); `level` "silent" writes nothing. */
export function serviceLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): ServiceLogger {
  return pino(
    { base: { service: "databuild" }, level: options.level ?? "info" },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
