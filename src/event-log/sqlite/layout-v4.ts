/**
 * @module Schema version 4: what changed from version 3 (layout-v3.ts),
 * frozen like every released step.
 *
 * - No index on `events.build_request` or `events.job_run` (about 190 bytes
 *   and two B-tree inserts per job run). Each interned id knows instead the
 *   span of offsets of the events that name it (`ids.first_offset`,
 *   `ids.last_offset`, kept by the writing transaction), and a read of one
 *   build request's or job run's events is a range scan of the events' rowid
 *   within that span.
 * - A manifest whose build request and job run ids are its event's is stored
 *   without them (they are the envelope's columns already), its inputs' job
 *   run ids packed, and a payload of 4 KB or more deflated; either is marked
 *   by the negated kind code (sqlite-row.ts).
 */

export const V4_SPAN_COLUMNS = `
  ALTER TABLE ids ADD COLUMN first_offset INTEGER;
  ALTER TABLE ids ADD COLUMN last_offset INTEGER;
`;

export const V4_DROPPED_INDEXES = `
  DROP INDEX events_build_request;
  DROP INDEX events_job_run;
`;

/** Fills the spans of the ids a version 3 log holds, while its two indexes still exist (before V4_DROPPED_INDEXES). */
export const V4_BACKFILL = [
  `UPDATE ids SET
     first_offset = (SELECT min("offset") FROM events WHERE build_request = ids.id),
     last_offset = (SELECT max("offset") FROM events WHERE build_request = ids.id)`,
  `UPDATE ids SET
     first_offset = min(coalesce(first_offset, 9223372036854775807),
       coalesce((SELECT min("offset") FROM events WHERE job_run = ids.id), 9223372036854775807)),
     last_offset = max(coalesce(last_offset, 0), coalesce((SELECT max("offset") FROM events WHERE job_run = ids.id), 0))`,
  // An id no event names (none should be) keeps no span: reads of it scan the whole log, which is always right.
  `UPDATE ids SET first_offset = NULL, last_offset = NULL WHERE first_offset = 9223372036854775807`,
];
