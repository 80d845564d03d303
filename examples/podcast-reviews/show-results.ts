/**
 * Prints where the podcast reviews example's partitions are and a table of
 * the weekly summaries built so far:
 *
 *   npx tsx examples/podcast-reviews/show-results.ts
 */
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { dataDir, sqlString, withDuckDB } from "./lib.ts";

interface WeekRow {
  category: string;
  week: string;
  review_count: number;
  avg_rating: number;
  rating_1: number;
  rating_5: number;
  daily_counts: number[];
  top_phrase: string | null;
}

const data = dataDir();
const fromCwd = relative(process.cwd(), data);
const shown = fromCwd === "" ? "." : fromCwd.startsWith("..") ? data : fromCwd;
const weekly = join(data, "weekly_summaries");
if (!existsSync(weekly)) {
  console.log(`No weekly summaries under ${shown}/ yet: build some first (see docs/example.md).`);
  process.exit(0);
}

const rows = await withDuckDB(async (db) => {
  const reader = await db.runAndReadAll(
    `SELECT category, week, review_count::INTEGER AS review_count, avg_rating, rating_1::INTEGER AS rating_1,
            rating_5::INTEGER AS rating_5, list_transform(daily_counts, c -> c::INTEGER) AS daily_counts,
            top_phrases[1].phrase AS top_phrase
     FROM read_parquet(${sqlString(join(weekly, "*", "*.parquet"))})
     ORDER BY week, category`,
  );
  return reader.getRowObjectsJS() as unknown as WeekRow[];
});

const table = [
  ["category", "week", "reviews", "avg ★", "1★", "5★", "reviews per day (Mon..Sun)", "top phrase"],
  ...rows.map((r) => [
    r.category,
    r.week,
    String(r.review_count),
    r.avg_rating.toFixed(2),
    `${Math.round((100 * r.rating_1) / r.review_count)}%`,
    `${Math.round((100 * r.rating_5) / r.review_count)}%`,
    r.daily_counts.join(" "),
    r.top_phrase ?? "",
  ]),
];
const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
const numeric = new Set([2, 3, 4, 5]);
const line = (row: string[]) =>
  row
    .map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
    .join("  ")
    .trimEnd();

console.log(`\nResults are Parquet files under ${shown}/ (one file per partition: ${shown}/<ref>.parquet).`);
console.log(`Weekly summaries, ${shown}/weekly_summaries/category=*/week=*.parquet:\n`);
console.log(line(table[0]!));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const row of table.slice(1)) console.log(line(row));
console.log(
  `\nDaily summaries: ${shown}/daily_summaries/, top phrases: ${shown}/phrase_stats/ (JSON), source: ${shown}/reviews/ and ${shown}/podcasts/all.parquet.`,
);
