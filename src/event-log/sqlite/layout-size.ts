/**
 * @module Measures what the log's layout costs on disk: bytes per event and
 * per job run, per table and index (SQLite's dbstat), of an existing log as
 * it is, after opening it with this code (which migrates an older one; the
 * time is reported), and, with --replay, of a fresh log that the same events
 * were appended to (the page fill that appends leave, rather than the
 * migration's sorted build).
 *
 * Run: npx tsx src/event-log/sqlite/layout-size.ts LOG [--replay] [DIR]
 * LOG is never modified: it is copied into DIR (default: the OS temp dir).
 */
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { openSqliteEventLog } from "./open-sqlite-event-log.ts";

const args = process.argv.slice(2);
const replay = args.includes("--replay");
const [source, scratch] = args.filter((a) => a !== "--replay");
if (!source) throw new Error("usage: layout-size.ts LOG [--replay] [DIR]");

/** Prints the file's size and its tables and indexes, per event and per job run. */
function report(title: string, path: string): void {
  const db = new Database(path, { readonly: true });
  try {
    const version = db.pragma("user_version", { simple: true }) as number;
    const events = db.prepare(`SELECT count(*) FROM events`).pluck().get() as number;
    const jobRuns = db
      .prepare(
        version >= 3
          ? `SELECT count(DISTINCT job_run) FROM events WHERE job_run IS NOT NULL`
          : `SELECT count(DISTINCT job_run_id) FROM events WHERE job_run_id != ''`,
      )
      .pluck()
      .get() as number;
    const objects = db
      .prepare(`SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC`)
      .all() as { name: string; bytes: number }[];
    const free =
      (db.pragma("freelist_count", { simple: true }) as number) * (db.pragma("page_size", { simple: true }) as number);
    const size = statSync(path).size;
    const each = (bytes: number) =>
      `${(bytes / events).toFixed(1).padStart(8)} B/event ${(bytes / jobRuns).toFixed(0).padStart(6)} B/job run`;
    console.log(`\n${title}: schema ${version}, ${events} events, ${jobRuns} job runs`);
    console.log(`  ${"file".padEnd(32)} ${String(size).padStart(11)} ${each(size)}`);
    for (const o of [...objects, { name: "(free pages)", bytes: free }]) {
      if (o.bytes >= size / 1000)
        console.log(`  ${o.name.padEnd(32)} ${String(o.bytes).padStart(11)} ${each(o.bytes)}`);
    }
  } finally {
    db.close();
  }
}

const dir = mkdtempSync(join(scratch ?? tmpdir(), "databuild-layout-"));
try {
  const copy = join(dir, "log.db");
  copyFileSync(source, copy);
  report("as it is", copy);
  const start = performance.now();
  const cpuBefore = process.cpuUsage();
  const log = await openSqliteEventLog(copy);
  const openMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(
    `\nopening it (migrating and compacting if older): ${(openMs / 1000).toFixed(1)} s (${cpuSeconds.toFixed(1)} s of CPU)`,
  );
  report("opened by this databuild", copy);
  if (replay) {
    const fresh = await openSqliteEventLog(join(dir, "replayed.db"), { synchronous: "normal" });
    const appendStart = performance.now();
    for (let after = 0; ;) {
      const page = await log.read(after, undefined, 1000);
      if (page.length === 0) break;
      // About one job run's worth of events per append, as a build commits them.
      for (let i = 0; i < page.length; i += 10) await fresh.append(page.slice(i, i + 10).map((l) => l.event));
      after = page.at(-1)!.offset;
    }
    console.log(
      `\nappending every event again, 10 per call: ${((performance.now() - appendStart) / 1000).toFixed(1)} s`,
    );
    await fresh.close();
    report("a fresh log of the same events, appended", join(dir, "replayed.db"));
  }
  await log.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
