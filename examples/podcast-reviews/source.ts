/**
 * The source jobs' writers: the generated podcasts and one day's reviews as
 * Parquet (see generator.ts for what is generated).
 */
import { DuckDBTimestampValue } from "@duckdb/node-api";
import { generatePodcasts, generateReviews } from "./generator.ts";
import { copyToParquet, withDuckDB } from "./lib.ts";

/** Writes the podcasts of `seed` to `path` (atomically; `tag` names the temporary file). Returns the row count. */
export async function writePodcasts(seed: number, path: string, tag: string): Promise<number> {
  const rows = generatePodcasts(seed);
  await withDuckDB(async (db) => {
    await db.run(
      "CREATE TABLE podcasts (podcast_id VARCHAR, title VARCHAR, author VARCHAR, categories VARCHAR, popularity DOUBLE)",
    );
    const appender = await db.createAppender("podcasts");
    for (const p of rows) {
      appender.appendVarchar(p.podcastId);
      appender.appendVarchar(p.title);
      appender.appendVarchar(p.author);
      appender.appendVarchar(p.categories.join(","));
      appender.appendDouble(p.popularity);
      appender.endRow();
    }
    appender.closeSync();
    const query = `SELECT podcast_id, title, author, string_split(categories, ',') AS categories, popularity
                   FROM podcasts ORDER BY podcast_id`;
    await copyToParquet(db, query, path, tag);
  });
  return rows.length;
}

/** Writes the reviews of `date` for `seed` to `path` (atomically). Returns the row count. */
export async function writeReviews(seed: number, date: string, path: string, tag: string): Promise<number> {
  const rows = generateReviews(seed, date);
  await withDuckDB(async (db) => {
    await db.run(
      `CREATE TABLE reviews (review_id VARCHAR, podcast_id VARCHAR, rating TINYINT, title VARCHAR,
         content VARCHAR, author_id VARCHAR, created_at TIMESTAMP)`,
    );
    const appender = await db.createAppender("reviews");
    for (const r of rows) {
      appender.appendVarchar(r.reviewId);
      appender.appendVarchar(r.podcastId);
      appender.appendTinyInt(r.rating);
      appender.appendVarchar(r.title);
      appender.appendVarchar(r.content);
      appender.appendVarchar(r.authorId);
      appender.appendTimestamp(new DuckDBTimestampValue(BigInt(r.createdAt) * 1000n));
      appender.endRow();
    }
    appender.closeSync();
    await copyToParquet(db, "SELECT * FROM reviews ORDER BY review_id", path, tag);
  });
  return rows.length;
}
