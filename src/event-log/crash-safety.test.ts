// Acknowledged means durable: real writer processes killed with SIGKILL, on every backend.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LoggedEvent } from "../core/event-log.ts";
import { LOG_BACKENDS } from "../testing/log-backends.ts";
import { startAppendChild } from "./fixtures/run-append-child.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "databuild-bel-crash-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// Generous: a loaded CI machine (load 19 on 2 cores) fsyncs slowly; the test is about what survives, not speed.
async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

for (const backend of LOG_BACKENDS) {
  describe(`the ${backend.name} event log across processes`, () => {
    it("keeps every acknowledged event when the writer is killed with SIGKILL mid-stream", async () => {
      const db = await backend.freshLocation(dir);
      const acknowledged = new Map<number, string>();
      // Three writers in turn, each killed at a different point, on the same log.
      for (const [round, killAfter] of [300, 1111, 2500].entries()) {
        const child = startAppendChild(db, `round-${round}`, 0);
        await until(() => child.acknowledged.length >= killAfter, `${killAfter} acknowledged events`);
        child.process.kill("SIGKILL");
        const { signal, stderr } = await child.exited;
        expect(signal, stderr).toBe("SIGKILL");
        for (const a of child.acknowledged) {
          expect(acknowledged.has(a.offset), `offset ${a.offset} acknowledged twice`).toBe(false);
          acknowledged.set(a.offset, a.eventId);
        }

        const log = await backend.open(db);
        try {
          const all = await log.read(0);
          const stored = new Map(all.map((l) => [l.offset, l.event.eventId]));
          for (const [offset, eventId] of acknowledged) expect(stored.get(offset), `offset ${offset}`).toBe(eventId);
          // Offsets are dense: nothing half-written sits between acknowledged events.
          expect(all.map((l) => l.offset)).toEqual(all.map((_, i) => i + 1));
          expect(await log.head()).toBe(all.length);
        } finally {
          await log.close();
        }
      }
    }, 240_000);

    it("two processes appending to one log concurrently lose nothing and get unique offsets", async () => {
      const db = await backend.freshLocation(dir, "shared.db");
      const children = ["left", "right"].map((scope) => startAppendChild(db, scope, 3000, { hold: true }));
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.go();
      const results = await Promise.all(children.map((c) => c.exited));
      for (const r of results) expect(r.code, r.stderr).toBe(0);

      const log = await backend.open(db);
      try {
        const all = await log.read(0);
        expect(all).toHaveLength(6000);
        expect(new Set(all.map((l) => l.offset)).size).toBe(6000);
        const byId = new Map(all.map((l) => [l.event.eventId, l]));
        for (const child of children) {
          expect(child.acknowledged).toHaveLength(3000);
          for (const a of child.acknowledged) expect(byId.get(a.eventId)?.offset).toBe(a.offset);
        }
        // Both wrote while the other did: their offsets interleave.
        const scopes = all.map((l) => l.event.buildRequestId);
        const switches = scopes.filter((s, i) => i > 0 && s !== scopes[i - 1]).length;
        expect(switches).toBeGreaterThan(1);
      } finally {
        await log.close();
      }
    }, 60_000);

    it("watch sees events appended by another process, in order and without gaps", async () => {
      const db = await backend.freshLocation(dir, "watched.db");
      const log = await backend.open(db, { pollIntervalMs: 20 });
      try {
        const seen: LoggedEvent[] = [];
        const stop = log.watch(0, (events) => seen.push(...events), { buildRequestId: "other" });
        const child = startAppendChild(db, "other", 2000);
        const { code, stderr } = await child.exited;
        expect(code, stderr).toBe(0);
        await until(() => seen.length >= 2000, "the other process's events");
        stop();
        expect(seen.map((l) => l.offset)).toEqual(child.acknowledged.map((a) => a.offset).sort((a, b) => a - b));
        expect(seen.map((l) => l.offset)).toEqual(seen.map((_, i) => i + 1));
      } finally {
        await log.close();
      }
    }, 60_000);
  });
}
