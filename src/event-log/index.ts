/**
 * @module The build event log backends (in memory, an SQLite file, a
 * PostgreSQL database): what the composition root (the CLI, later the
 * service) needs to open one. The port itself is in
 * src/core/event-log.ts; the shared contract suite (event-log-contract.ts)
 * is for tests and deliberately not exported here, since it imports vitest.
 */
export type { EventFilter, EventLog, LoggedEvent } from "../core/event-log.ts";
export {
  EventLogFileError,
  EventLogStorageError,
  type EventLogFileProblem,
  type EventLogStorageProblem,
} from "./event-log-error.ts";
export { MemoryEventLog } from "./memory-event-log.ts";
export { openSqliteEventLog, type SqliteEventLogOptions } from "./sqlite/open-sqlite-event-log.ts";
export type { SqliteEventLog } from "./sqlite/sqlite-event-log.ts";
export { isPostgresUrl, shownUrl } from "./postgres/connection-url.ts";
export { openPostgresEventLog, type PostgresEventLogOptions } from "./postgres/open-postgres-event-log.ts";
export type { LockStats, PostgresEventLog } from "./postgres/postgres-event-log.ts";
