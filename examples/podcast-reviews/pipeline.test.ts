/**
 * End to end: builds a slice of the podcast reviews example from scratch
 * through the real CLI, with the real jobs (TypeScript on DuckDB, Python),
 * into a temporary data directory and event log.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runDatabuild, tempDir } from "../../src/testing/run-cli.ts";
import { DEFAULT_SEED, generatePodcasts, generateReviews } from "./generator.ts";
import { sqlString, withDuckDB } from "./lib.ts";

const GRAPH = join(import.meta.dirname, "databuild.ts");
const CATEGORIES = ["comedy", "technology"];
const DATES = ["2024-05-01", "2024-05-02"];
const DAILY = CATEGORIES.flatMap((c) => DATES.map((d) => `daily_summaries/category=${c}/date=${d}`));

const dir = tempDir("podcast-reviews-");
const data = join(dir, "data");
const db = join(dir, "databuild.db");

function databuild(...args: string[]) {
  return runDatabuild(["--graph", GRAPH, "--db", db, ...args], { env: { PODCAST_REVIEWS_DATA: data } });
}

/** Job runs per job label of one build, from `databuild events --json`. */
async function jobRuns(output: string): Promise<Record<string, number>> {
  const buildId = /build request id: (\S+)/.exec(output)?.[1];
  expect(buildId).toBeDefined();
  const events = await databuild("events", "--json", "--build", buildId!);
  expect(events.code).toBe(0);
  const runs: Record<string, number> = {};
  for (const line of events.stdout.split("\n").filter(Boolean)) {
    const event = JSON.parse(line) as { jobScheduleSuccess?: { task: { job: { label: string } } } };
    const label = event.jobScheduleSuccess?.task.job.label;
    if (label) runs[label] = (runs[label] ?? 0) + 1;
  }
  return runs;
}

/** The phrases of a text, as jobs/phrase_stats.py defines them (re-implemented independently). */
const STOP = new Set(
  "a an and are as at be but by for from had has have i i'm in is it it's just my of on or so that the this to too was we were with you your me our".split(
    " ",
  ),
);
function phrasesOf(text: string): Set<string> {
  const found = new Set<string>();
  for (const sentence of text.toLowerCase().split(/[.!?;:,]+/)) {
    const words = sentence.match(/[a-z']+/g) ?? [];
    for (const size of [2, 3]) {
      for (let i = 0; i + size <= words.length; i++) {
        const gram = words.slice(i, i + size);
        if (!STOP.has(gram[0]!) && !STOP.has(gram[size - 1]!)) found.add(gram.join(" "));
      }
    }
  }
  return found;
}

interface DailyRow {
  review_count: number;
  avg_rating: number;
  rating_1: number;
  rating_2: number;
  rating_3: number;
  rating_4: number;
  rating_5: number;
  top_phrases: { phrase: string; reviews: number; avg_rating: number }[];
}

describe("podcast reviews example", () => {
  let first: Awaited<ReturnType<typeof databuild>>;
  beforeAll(async () => {
    first = await databuild("build", ...DAILY);
  }, 60_000);

  it("builds two days of two categories from scratch, with every job", async () => {
    expect(first.stderr + first.stdout).toMatch(/Build completed/);
    expect(first.code).toBe(0);
    expect(await jobRuns(first.stdout + first.stderr)).toEqual({
      podcasts: 1,
      reviews: 2,
      categorized_reviews: 4,
      phrase_stats: 4,
      daily_summaries: 4,
    });
  });

  it("computes the daily summaries right", async () => {
    const podcasts = new Map(generatePodcasts(DEFAULT_SEED).map((p) => [p.podcastId, p]));
    for (const category of CATEGORIES) {
      for (const date of DATES) {
        // Independently: plain TypeScript over the generated source.
        const reviews = generateReviews(DEFAULT_SEED, date).filter((r) =>
          podcasts.get(r.podcastId)!.categories.includes(category),
        );
        const histogram = [1, 2, 3, 4, 5].map((k) => reviews.filter((r) => r.rating === k).length);
        const mean = reviews.reduce((sum, r) => sum + r.rating, 0) / reviews.length;

        const file = join(data, `daily_summaries/category=${category}/date=${date}.parquet`);
        const [row] = await withDuckDB(async (duck) => {
          const reader = await duck.runAndReadAll(
            `SELECT review_count::INTEGER AS review_count, avg_rating, rating_1::INTEGER AS rating_1,
                    rating_2::INTEGER AS rating_2, rating_3::INTEGER AS rating_3, rating_4::INTEGER AS rating_4,
                    rating_5::INTEGER AS rating_5,
                    list_transform(top_phrases, p -> {'phrase': p.phrase, 'reviews': p.reviews::INTEGER,
                                                       'avg_rating': p.avg_rating}) AS top_phrases
             FROM read_parquet(${sqlString(file)})`,
          );
          return reader.getRowObjectsJS() as unknown as DailyRow[];
        });
        expect(reviews.length).toBeGreaterThan(50);
        expect(row!.review_count).toBe(reviews.length);
        expect(row!.avg_rating).toBeCloseTo(mean, 3);
        expect([row!.rating_1, row!.rating_2, row!.rating_3, row!.rating_4, row!.rating_5]).toEqual(histogram);

        // The top phrases: how many reviews contain each, and their mean rating.
        expect(row!.top_phrases).toHaveLength(5);
        for (const { phrase, reviews: count, avg_rating } of row!.top_phrases) {
          const containing = reviews.filter((r) => phrasesOf(r.title).has(phrase) || phrasesOf(r.content).has(phrase));
          expect(count, phrase).toBe(containing.length);
          expect(avg_rating).toBeCloseTo(containing.reduce((s, r) => s + r.rating, 0) / containing.length, 2);
        }
        const counts = row!.top_phrases.map((p) => p.reviews);
        expect(counts).toEqual([...counts].sort((a, b) => b - a));

        // The Python job's full output agrees on the review count.
        const stats = JSON.parse(
          readFileSync(join(data, `phrase_stats/category=${category}/date=${date}.json`), "utf8"),
        ) as { review_count: number };
        expect(stats.review_count).toBe(reviews.length);
      }
    }
  });

  it("runs no job when asked again", async () => {
    const again = await databuild("build", ...DAILY);
    expect(again.code).toBe(0);
    expect(again.stdout + again.stderr).toMatch(/Nothing to do/);
    expect(await jobRuns(again.stdout + again.stderr)).toEqual({});
  });

  it("builds only the missing days for a weekly summary", async () => {
    const weekly = await databuild("build", "weekly_summaries/category=comedy/week=2024-W18");
    expect(weekly.code).toBe(0);
    // 2024-W18 is 2024-04-29..2024-05-05: five new days; 05-01 and 05-02 exist.
    expect(await jobRuns(weekly.stdout + weekly.stderr)).toEqual({
      reviews: 5,
      categorized_reviews: 5,
      phrase_stats: 5,
      daily_summaries: 5,
      weekly_summaries: 1,
    });
    const [week] = await withDuckDB(async (duck) => {
      const reader = await duck.runAndReadAll(
        `SELECT review_count::INTEGER AS n, list_transform(daily_counts, c -> c::INTEGER) AS days
         FROM read_parquet(${sqlString(join(data, "weekly_summaries/category=comedy/week=2024-W18.parquet"))})`,
      );
      return reader.getRowObjectsJS() as unknown as { n: number; days: number[] }[];
    });
    const podcasts = new Map(generatePodcasts(DEFAULT_SEED).map((p) => [p.podcastId, p]));
    const expected = ["2024-04-29", "2024-04-30", ...DATES, "2024-05-03", "2024-05-04", "2024-05-05"].map(
      (date) =>
        generateReviews(DEFAULT_SEED, date).filter((r) => podcasts.get(r.podcastId)!.categories.includes("comedy"))
          .length,
    );
    expect(week!.days).toEqual(expected);
    expect(week!.n).toBe(expected.reduce((a, b) => a + b, 0));
  }, 60_000);
});
