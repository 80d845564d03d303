/**
 * Append throughput of the event log with 1, 4 and 8 writer processes at
 * once, on PostgreSQL (a throwaway server with fsync on, started here) and,
 * for comparison, on SQLite (synchronous=FULL); and what the PostgreSQL log's
 * one lock costs (src/event-log/postgres/append-transaction.ts).
 *
 *   npx tsx bench/postgres-append-bench.ts [--writers 1,4,8] [--seconds 5]
 *       [--callers 4] [--modes append,atomic] [--backends postgres,sqlite] [--repeat 3]
 *
 * Each writer is a process of its own with `--callers` concurrent callers
 * (as a build has: its event recorder, heartbeats, claims). In `append`
 * mode each caller appends 1 to 5 events per call (3 on average) in a loop;
 * the log's group commit gathers what the callers queued into one
 * transaction. In `atomic` mode each call is an appendAtomically that reads
 * the claims after its cursor and appends one (what claiming does). Every
 * writer runs for `--seconds` after all are ready, then reports its calls,
 * events, transactions and, on PostgreSQL, the time its transactions waited
 * for the lock and held it (as this process sees it: from the end of the
 * wait to the answer, so it includes a round trip and any wait for a CPU).
 * Each configuration runs `--repeat` times on a fresh log and the run with
 * the most events/s is kept: on a shared machine, other load only ever
 * slows a run down. Prints a markdown table, and the load average before
 * and after.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { EventLog } from "../src/core/event-log.ts";
import { newEvent } from "../src/core/new-event.ts";
import { eventPayload } from "../src/core/build-event.ts";
import { openPostgresEventLog, openSqliteEventLog, type PostgresEventLog } from "../src/event-log/index.ts";
import { sampleEvents } from "../src/event-log/sample-events.ts";
import { startPostgresServer } from "../src/testing/postgres-server.ts";
import { option } from "./option.ts";

interface WriterReport {
  readonly calls: number;
  readonly events: number;
  readonly seconds: number;
  readonly transactions: number;
  readonly waitMs: number;
  readonly heldMs: number;
}

const args = process.argv.slice(2);
if (args[0] === "--child") await child(args[1]!, args[2]!, args[3]!, Number(args[4]), Number(args[5]));
else await main();

async function main(): Promise<void> {
  const writerCounts = option("--writers", "1,4,8").split(",").map(Number);
  const seconds = Number(option("--seconds", "5"));
  const callers = Number(option("--callers", "4"));
  const modes = option("--modes", "append,atomic").split(",");
  const backends = option("--backends", "postgres,sqlite").split(",");
  const repeat = Number(option("--repeat", "3"));
  const loadBefore = loadavg()
    .map((l) => l.toFixed(2))
    .join(", ");
  const server = backends.includes("postgres") ? await startPostgresServer({ durable: true }) : undefined;
  const dir = mkdtempSync(join(tmpdir(), "databuild-append-bench-"));
  const rows: string[] = [];
  try {
    for (const backend of backends) {
      for (const mode of modes) {
        for (const writers of writerCounts) {
          let best: WriterReport[] | undefined;
          for (let r = 0; r < repeat; r++) {
            const location = await freshLocation(backend, dir, server?.url(), `${mode}-${writers}-${r}`);
            // Created once before the writers race to open it.
            await (await open(location)).close();
            const reports = await runWriters(location, mode, writers, callers, seconds);
            if (best === undefined || eventsPerSecond(reports) > eventsPerSecond(best)) best = reports;
          }
          rows.push(row(backend, mode, writers, best!));
          process.stderr.write(`${rows.at(-1)}\n`);
        }
      }
    }
  } finally {
    await server?.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    [
      `| backend | mode | writers | calls/s | events/s | transactions/s | events per transaction | lock wait per transaction | lock held per transaction | share of wall time waiting |`,
      `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
      ...rows,
      ``,
      `load average before: ${loadBefore}; after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(", ")} (${cpus().length} CPUs)`,
    ].join("\n"),
  );
}

function eventsPerSecond(reports: readonly WriterReport[]): number {
  return reports.reduce((a, r) => a + r.events, 0) / Math.max(...reports.map((r) => r.seconds));
}

async function freshLocation(backend: string, dir: string, serverUrl: string | undefined, name: string) {
  if (backend === "sqlite") return join(dir, `${name}.db`);
  const database = `bench_${name.replace(/\W/g, "_")}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  await client.query(`CREATE DATABASE ${database}`);
  await client.end();
  const url = new URL(serverUrl!);
  url.pathname = `/${database}`;
  return url.href;
}

function open(location: string): Promise<EventLog> {
  return location.startsWith("postgres") ? openPostgresEventLog(location) : openSqliteEventLog(location);
}

/** Starts `writers` processes, lets them go together, and collects their reports. */
async function runWriters(location: string, mode: string, writers: number, callers: number, seconds: number) {
  const children = Array.from({ length: writers }, (_, w) => {
    const proc = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        import.meta.filename,
        "--child",
        location,
        mode,
        `writer-${w}`,
        String(callers),
        String(seconds),
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    let out = "";
    proc.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const ready = new Promise<void>((resolve) => {
      const check = () => (out.includes("ready\n") ? resolve() : setTimeout(check, 5));
      check();
    });
    const report = new Promise<WriterReport>((resolve, reject) =>
      proc.on("close", (code) =>
        code === 0
          ? resolve(JSON.parse(out.split("\n").filter(Boolean).at(-1)!))
          : reject(new Error(`writer exited ${code}`)),
      ),
    );
    return { proc, ready, report };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.proc.stdin.end("go\n");
  return Promise.all(children.map((c) => c.report));
}

function row(backend: string, mode: string, writers: number, reports: readonly WriterReport[]): string {
  const sum = (f: (r: WriterReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  const seconds = Math.max(...reports.map((r) => r.seconds));
  const transactions = sum((r) => r.transactions);
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const ms = (n: number) => (transactions === 0 ? "–" : `${(n / transactions).toFixed(2)} ms`);
  const waitShare =
    backend === "postgres" ? `${((100 * sum((r) => r.waitMs)) / (writers * seconds * 1000)).toFixed(0)} %` : "–";
  return `| ${backend} | ${mode} | ${writers} | ${fmt(sum((r) => r.calls) / seconds)} | ${fmt(sum((r) => r.events) / seconds)} | ${
    backend === "postgres" ? fmt(transactions / seconds) : "–"
  } | ${backend === "postgres" ? (sum((r) => r.events) / transactions).toFixed(1) : "–"} | ${
    backend === "postgres" ? ms(sum((r) => r.waitMs)) : "–"
  } | ${backend === "postgres" ? ms(sum((r) => r.heldMs)) : "–"} | ${waitShare} |`;
}

/** One writer process: opens the log, waits for "go", appends for `seconds`, prints its report as JSON. */
async function child(location: string, mode: string, scope: string, callers: number, seconds: number): Promise<void> {
  const log = await open(location);
  process.stdout.write("ready\n");
  await new Promise((resolve) => process.stdin.once("data", resolve));
  const started = performance.now();
  const until = started + seconds * 1000;
  let calls = 0;
  let events = 0;
  let k = 0;
  const caller = async (c: number) => {
    let cursor = 0;
    while (performance.now() < until) {
      if (mode === "atomic") {
        const claim = newEvent(
          { buildRequestId: scope },
          eventPayload("partitionsClaimed", { partitions: [{ str: `p/${scope}/${c}/${k++}` }] }),
        );
        const outcome = await log.appendAtomically(cursor, { kinds: ["partitionsClaimed"] }, () => ({
          append: [claim],
          result: 0,
        }));
        cursor = outcome.head;
        events += 1;
      } else {
        const size = 1 + ((k + c) % 5);
        await log.append(sampleEvents(size, { buildRequestId: scope, jobRunId: `run-${c}-${k}` }, k));
        k += size;
        events += size;
      }
      calls++;
    }
  };
  await Promise.all(Array.from({ length: callers }, (_, c) => caller(c)));
  const elapsed = (performance.now() - started) / 1000;
  const stats = "lockStats" in log ? (log as PostgresEventLog).lockStats() : { transactions: 0, waitMs: 0, heldMs: 0 };
  await log.close();
  const report: WriterReport = { calls, events, seconds: elapsed, ...stats };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
