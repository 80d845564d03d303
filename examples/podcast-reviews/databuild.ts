/**
 * The podcast reviews example: a partitioned pipeline over a generated
 * podcast reviews dataset, on DuckDB and Parquet (walkthrough: docs/example.md).
 *
 *   podcasts/all                                    the podcasts and their categories (generated)
 *   reviews/date={date}                             one day's reviews (generated from the seed and the date)
 *   categorized_reviews/category={category}/date={date}   that day's reviews of podcasts in the category
 *   phrase_stats/category={category}/date={date}          top phrases and their average rating (Python)
 *   daily_summaries/category={category}/date={date}       count, average rating, histogram, top phrases
 *   weekly_summaries/category={category}/week={week}      a roll-up of the seven daily summaries (ISO week)
 *
 * Partitions are files under data/ (or $PODCAST_REVIEWS_DATA): `data/<ref>.parquet`,
 * plus `.jsonl` beside categorized_reviews and `.json` for phrase_stats.
 *
 *   npx databuild --graph examples/podcast-reviews/databuild.ts build weekly_summaries/category=comedy/week=2024-W18
 *   npx databuild --graph examples/podcast-reviews/databuild.ts mermaid daily_summaries/category=comedy/date=2024-05-01
 */
import { defineGraph, defineJob } from "databuild";
import { CATEGORY_NAMES, DEFAULT_SEED, FIRST_DAY, LAST_DAY, inDataset } from "./generator.ts";
import { copyToParquet, datesOfIsoWeek, fileOf, sqlString, withDuckDB, writeAtomically } from "./lib.ts";
import { writePodcasts, writeReviews } from "./source.ts";

/** The generator's seed: the same seed always gives byte-identical source partitions. */
const SEED = DEFAULT_SEED;

function checkDate(date: string): string {
  if (!inDataset(date)) throw new Error(`date ${date} is outside the dataset (${FIRST_DAY} to ${LAST_DAY})`);
  return date;
}

function checkCategory(category: string): string {
  if (!CATEGORY_NAMES.includes(category)) {
    throw new Error(`unknown category ${JSON.stringify(category)}; categories: ${CATEGORY_NAMES.join(", ")}`);
  }
  return category;
}

/** The source, part 1: the podcasts, each in one to four categories. */
const podcasts = defineJob({
  label: "podcasts",
  outputs: ["podcasts/all"],
  version: "1.0.0",
  exec: async (config, context) => {
    const path = fileOf(config.outputs[0]!.str, ".parquet");
    const count = await writePodcasts(SEED, path, context.jobRunId);
    context.log(`wrote ${count} podcasts to ${path}`);
  },
});

/** The source, part 2: one day's reviews, generated from (seed, date) alone. */
const reviews = defineJob({
  label: "reviews",
  outputs: ["reviews/date={date}"],
  version: "1.0.0",
  config: ({ date }) => ({ args: [checkDate(date)] }),
  exec: async (config, context) => {
    const path = fileOf(config.outputs[0]!.str, ".parquet");
    const count = await writeReviews(SEED, config.args[0]!, path, context.jobRunId);
    context.log(`wrote ${count} reviews to ${path}`);
  },
});

/**
 * The day's reviews of podcasts in one category (a podcast in three
 * categories appears in three partitions), as Parquet and as JSON lines for
 * jobs without a Parquet reader (phrase_stats is standard-library Python).
 */
const categorizedReviews = defineJob({
  label: "categorized_reviews",
  outputs: ["categorized_reviews/category={category}/date={date}"],
  version: "1.0.0",
  config: ({ category, date }) => ({
    inputs: [`reviews/date=${checkDate(date)}`, "podcasts/all"],
    args: [checkCategory(category), date],
  }),
  exec: async (config, context) => {
    const ref = config.outputs[0]!.str;
    const [category, date] = config.args as [string, string];
    await withDuckDB(async (db) => {
      await db.run(
        `CREATE TABLE categorized AS
         SELECT ${sqlString(category)} AS category, r.review_id, r.podcast_id, p.title AS podcast_title,
                r.rating, r.title, r.content, r.author_id, r.created_at
         FROM read_parquet(${sqlString(fileOf(`reviews/date=${date}`, ".parquet"))}) r
         JOIN read_parquet(${sqlString(fileOf("podcasts/all", ".parquet"))}) p USING (podcast_id)
         WHERE list_contains(p.categories, ${sqlString(category)})`,
      );
      const query = "SELECT * FROM categorized ORDER BY review_id";
      await copyToParquet(db, query, fileOf(ref, ".parquet"), context.jobRunId);
      // JSON lines: the same rows, readable with any JSON parser.
      await writeAtomically(fileOf(ref, ".jsonl"), context.jobRunId, async (tmp) => {
        await db.run(`COPY (${query}) TO ${sqlString(tmp)} (FORMAT JSON)`);
      });
      const count = await db.runAndReadAll("SELECT count(*)::INTEGER AS n FROM categorized");
      context.log(`${ref}: ${String(count.getRowObjectsJS()[0]!["n"])} reviews`);
    });
  },
});

/** A command job in standard-library Python: top 2- and 3-word phrases and their average rating. */
const phraseStats = defineJob({
  label: "phrase_stats",
  outputs: ["phrase_stats/category={category}/date={date}"],
  version: "1.0.0",
  config: ({ category, date }, ref) => ({
    inputs: [`categorized_reviews/category=${checkCategory(category)}/date=${checkDate(date)}`],
    args: [fileOf(`categorized_reviews/category=${category}/date=${date}`, ".jsonl"), fileOf(ref, ".json")],
  }),
  exec: ["python3", "jobs/phrase_stats.py"],
});

/** Per category and day: review count, average rating, rating histogram and the top phrases. */
const dailySummaries = defineJob({
  label: "daily_summaries",
  outputs: ["daily_summaries/category={category}/date={date}"],
  version: "1.0.0",
  config: ({ category, date }) => ({
    inputs: [
      `categorized_reviews/category=${checkCategory(category)}/date=${checkDate(date)}`,
      `phrase_stats/category=${category}/date=${date}`,
    ],
    args: [category, date],
  }),
  exec: async (config, context) => {
    const ref = config.outputs[0]!.str;
    const [category, date] = config.args as [string, string];
    const reviewsFile = sqlString(fileOf(`categorized_reviews/category=${category}/date=${date}`, ".parquet"));
    const phrasesFile = sqlString(fileOf(`phrase_stats/category=${category}/date=${date}`, ".json"));
    await withDuckDB(async (db) => {
      const query = `
        SELECT ${sqlString(category)} AS category, DATE ${sqlString(date)} AS date,
               count(*)::BIGINT AS review_count,
               coalesce(round(avg(rating), 4), 0)::DOUBLE AS avg_rating,
               count(*) FILTER (WHERE rating = 1)::BIGINT AS rating_1,
               count(*) FILTER (WHERE rating = 2)::BIGINT AS rating_2,
               count(*) FILTER (WHERE rating = 3)::BIGINT AS rating_3,
               count(*) FILTER (WHERE rating = 4)::BIGINT AS rating_4,
               count(*) FILTER (WHERE rating = 5)::BIGINT AS rating_5,
               (SELECT coalesce(phrases[1:5], []) FROM read_json(${phrasesFile},
                  columns = {phrases: 'STRUCT(phrase VARCHAR, reviews BIGINT, avg_rating DOUBLE)[]'})) AS top_phrases
        FROM read_parquet(${reviewsFile})`;
      await copyToParquet(db, query, fileOf(ref, ".parquet"), context.jobRunId);
    });
  },
});

/** A fan-in: the seven daily summaries of an ISO week (Monday to Sunday) rolled up. */
const weeklySummaries = defineJob({
  label: "weekly_summaries",
  outputs: ["weekly_summaries/category={category}/week={week}"],
  version: "1.0.0",
  config: ({ category, week }) => ({
    inputs: datesOfIsoWeek(week).map(
      (date) => `daily_summaries/category=${checkCategory(category)}/date=${checkDate(date)}`,
    ),
    args: [category, week],
  }),
  exec: async (config, context) => {
    const ref = config.outputs[0]!.str;
    const [category, week] = config.args as [string, string];
    const files = config.inputs.map((input) => sqlString(fileOf(input.partitionRef!.str, ".parquet"))).join(", ");
    await withDuckDB(async (db) => {
      await db.run(`CREATE TABLE days AS SELECT * FROM read_parquet([${files}])`);
      const query = `
        SELECT ${sqlString(category)} AS category, ${sqlString(week)} AS week,
               min(date) AS first_day, max(date) AS last_day,
               sum(review_count)::BIGINT AS review_count,
               round((sum(rating_1) + 2 * sum(rating_2) + 3 * sum(rating_3) + 4 * sum(rating_4) + 5 * sum(rating_5))
                     / nullif(sum(review_count), 0), 4)::DOUBLE AS avg_rating,
               sum(rating_1)::BIGINT AS rating_1, sum(rating_2)::BIGINT AS rating_2, sum(rating_3)::BIGINT AS rating_3,
               sum(rating_4)::BIGINT AS rating_4, sum(rating_5)::BIGINT AS rating_5,
               list(review_count ORDER BY date) AS daily_counts,
               (SELECT list({'phrase': phrase, 'reviews': reviews} ORDER BY reviews DESC, phrase)[1:5]
                FROM (SELECT t.p.phrase AS phrase, sum(t.p.reviews)::BIGINT AS reviews
                      FROM (SELECT unnest(top_phrases) AS p FROM days) t GROUP BY 1)) AS top_phrases
        FROM days`;
      await copyToParquet(db, query, fileOf(ref, ".parquet"), context.jobRunId);
    });
  },
});

export default defineGraph({
  label: "podcast_reviews",
  jobs: [podcasts, reviews, categorizedReviews, phraseStats, dailySummaries, weeklySummaries],
});
