/**
 * @module Measures durable append throughput of the SQLite event log:
 * events/s by events per append call, sequential and concurrent callers,
 * synchronous FULL vs NORMAL.
 *
 * Run: npx tsx src/event-log/sqlite/append-throughput.ts [DIR]
 * (DIR: where to put the scratch databases; default the OS temp dir. Use a
 * directory on the disk you care about: tmpfs makes fsync free.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sampleEvents } from "../sample-events.ts";
import { openSqliteEventLog } from "./open-sqlite-event-log.ts";

interface Scenario {
  /** Events per append call. */
  readonly batch: number;
  /** Callers appending at the same time, each awaiting its previous append. */
  readonly callers: number;
  readonly total: number;
}

const scenarios: Scenario[] = [
  { batch: 1, callers: 1, total: 1_000 },
  { batch: 10, callers: 1, total: 10_000 },
  { batch: 1000, callers: 1, total: 100_000 },
  { batch: 1, callers: 100, total: 100_000 },
  { batch: 10, callers: 100, total: 200_000 },
];

const root = mkdtempSync(join(process.argv[2] ?? tmpdir(), "databuild-bel-bench-"));
try {
  console.log("synchronous  batch  callers   events    seconds   events/s");
  for (const synchronous of ["full", "normal"] as const) {
    for (const s of scenarios) {
      const log = await openSqliteEventLog(join(root, `${synchronous}-${s.batch}-${s.callers}.db`), { synchronous });
      const calls = s.total / s.batch / s.callers;
      // Events are built up front so only appending is timed.
      const work = Array.from({ length: s.callers }, (_, c) =>
        Array.from({ length: calls }, (_, k) => sampleEvents(s.batch, { buildRequestId: `c${c}` }, k * s.batch)),
      );
      const start = performance.now();
      await Promise.all(
        work.map(async (batches) => {
          for (const batch of batches) await log.append(batch);
        }),
      );
      const seconds = (performance.now() - start) / 1000;
      await log.close();
      const row = [
        synchronous.padEnd(11),
        s.batch,
        s.callers,
        s.total,
        seconds.toFixed(3),
        Math.round(s.total / seconds),
      ];
      console.log(row.map((v, i) => (i === 0 ? v : String(v).padStart(i === 1 ? 6 : 9))).join("  "));
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
