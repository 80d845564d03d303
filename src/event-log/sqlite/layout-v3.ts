/**
 * @module The tables and indexes of schema version 3 (the compact layout),
 * as the migration to it creates them. Frozen like every released schema
 * step: a later change is a new migration.
 */

export const V3_TABLES = `
  -- Build request ids and job run ids, each stored once (stored-id.ts: 16 bytes for a UUID).
  CREATE TABLE ids (
    id INTEGER PRIMARY KEY,
    value ANY NOT NULL UNIQUE
  ) STRICT;
  -- Partition refs that events are about (partitionRefsOf), each stored once.
  CREATE TABLE partitions (
    id INTEGER PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE
  ) STRICT;
  CREATE TABLE events (
    "offset" INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id ANY NOT NULL,
    build_request INTEGER REFERENCES ids (id),
    job_run INTEGER REFERENCES ids (id),
    kind INTEGER,
    timestamp_delta_ms INTEGER,
    payload BLOB NOT NULL
  ) STRICT;
  -- The per-partition index: the offsets of the events about each partition.
  CREATE TABLE partition_events (
    partition INTEGER NOT NULL REFERENCES partitions (id),
    "offset" INTEGER NOT NULL,
    PRIMARY KEY (partition, "offset")
  ) STRICT, WITHOUT ROWID;
`;

/**
 * The key under which events are found by id (relayed-event dedupe,
 * event-inserter.ts): the first 8 bytes of a 16-byte id, the text of any
 * other. For a UUIDv7 those are its millisecond time and sequence number, so
 * the index grows at one end like the log, and an entry costs 17 bytes
 * where one of the whole id would cost 25 (on a long history, 70 bytes per
 * job run). It is not UNIQUE: ids made in the same millisecond by two
 * processes share a key, and the lookup compares whole ids; every insert goes
 * through that lookup (EventInserter.append), under the write lock.
 */
export const EVENT_KEY = `CASE WHEN typeof(event_id) = 'blob' THEN substr(event_id, 1, 8) ELSE event_id END`;

/**
 * The indexes of `events`. The migration builds them after copying the rows:
 * sorting once is faster than inserting into each index row by row, and
 * leaves full pages.
 */
export const V3_INDEXES = `
  CREATE INDEX events_event_key ON events (${EVENT_KEY});
  CREATE INDEX events_build_request ON events (build_request);
  CREATE INDEX events_job_run ON events (job_run);
`;
