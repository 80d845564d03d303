/**
 * Shared helpers of the podcast reviews jobs: where partitions live, atomic
 * writes, short-lived DuckDB connections and ISO weeks.
 */
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";

/** The example's directory. */
export const HERE = dirname(fileURLToPath(import.meta.url));

/** Where partitions are written: `$PODCAST_REVIEWS_DATA`, else `data/` beside the graph. */
export function dataDir(): string {
  const fromEnv = process.env["PODCAST_REVIEWS_DATA"];
  return fromEnv ? resolve(fromEnv) : join(HERE, "data");
}

/** The file of a partition: `<data>/<ref><extension>`, e.g. `data/reviews/date=2024-05-01.parquet`. */
export function fileOf(ref: string, extension: string): string {
  return join(dataDir(), ref + extension);
}

/** A path in SQL: a single-quoted string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Runs `write(tmp)` to produce `path` through a temporary file beside it,
 * then renames it into place: a killed job leaves at most a `.tmp-` file,
 * never a partial partition.
 */
export async function writeAtomically(path: string, tag: string, write: (tmp: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${tag}`;
  try {
    await write(tmp);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * Opens an in-memory DuckDB for one job run and closes it afterwards. One
 * thread: in-process jobs share the databuild process (which already runs
 * several jobs at once), and single-threaded writes give byte-identical
 * Parquet files for identical input.
 */
export async function withDuckDB<T>(use: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
  const connection = await instance.connect();
  try {
    return await use(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** `COPY (query) TO path (FORMAT PARQUET)` through a temporary file. */
export async function copyToParquet(connection: DuckDBConnection, query: string, path: string, tag: string) {
  await writeAtomically(path, tag, async (tmp) => {
    await connection.run(`COPY (${query}) TO ${sqlString(tmp)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
  });
}

/** The seven dates (Monday first) of an ISO week such as 2024-W18. */
export function datesOfIsoWeek(week: string): string[] {
  const m = /^(\d{4})-W(\d{2})$/.exec(week);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 53) {
    throw new Error(`week ${JSON.stringify(week)} is not an ISO week like 2024-W18`);
  }
  const jan4 = new Date(Date.UTC(Number(m[1]), 0, 4));
  const monday = jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * 86_400_000 + (Number(m[2]) - 1) * 7 * 86_400_000;
  const dates = Array.from({ length: 7 }, (_, d) => new Date(monday + d * 86_400_000).toISOString().slice(0, 10));
  if (isoWeekOf(dates[0]!) !== week) throw new Error(`${week} does not exist (${m[1]} has fewer weeks)`);
  return dates;
}

/** The ISO week (2024-W18) a date belongs to. */
export function isoWeekOf(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  const thursday = new Date(d.getTime() + (3 - ((d.getUTCDay() + 6) % 7)) * 86_400_000);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000));
  return `${year}-W${String(week).padStart(2, "0")}`;
}
