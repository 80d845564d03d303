/**
 * @module Contract case for commit order (LoggedEvent.offset): once a reader
 * has seen offset n, no event below n may still commit. A backend that hands
 * out offsets before commit (a plain sequence) fails it when two writers'
 * transactions commit out of order, because the reader's cursor has then
 * passed the event that committed late and never sees it.
 */
import { expect } from "vitest";
import type { LoggedEvent } from "../core/event-log.ts";
import { ids, offsets, type Case } from "./contract-support.ts";

const WRITERS = ["writer-1", "writer-2", "writer-3"];
const EACH = 200;

export const COMMIT_ORDER_CASES = {
  "a reader tailing with read(cursor) sees every event once and in offset order while writers on other connections commit":
    async (log, { writers }) => {
      let done = false;
      const writing = writers(WRITERS, EACH).finally(() => (done = true));
      const seen: LoggedEvent[] = [];
      let cursor = 0;
      for (;;) {
        // Noted before the read, so the read that follows sees every commit.
        const finished = done;
        const batch = await log.read(cursor, undefined, 100);
        for (const l of batch) {
          expect(l.offset).toBeGreaterThan(cursor);
          cursor = l.offset;
          seen.push(l);
        }
        if (finished && batch.length === 0) break;
        if (batch.length === 0) await new Promise((r) => setTimeout(r, 1));
      }
      await writing;
      const all = await log.read(0);
      expect(all).toHaveLength(WRITERS.length * EACH);
      expect(offsets(seen)).toEqual(offsets(all));
      expect(ids(seen)).toEqual(ids(all));
      for (const w of WRITERS) expect(all.filter((l) => l.event.buildRequestId === w)).toHaveLength(EACH);
      // The writers did write at the same time (else this proved little).
      const owners = all.map((l) => l.event.buildRequestId);
      expect(owners.filter((o, i) => i > 0 && o !== owners[i - 1]).length).toBeGreaterThan(WRITERS.length);
    },
} satisfies Record<string, Case>;
