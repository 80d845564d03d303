import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../src/testing/run-cli.ts";
import {
  CATEGORY_NAMES,
  DEFAULT_SEED,
  PODCAST_COUNT,
  TOTAL_REVIEWS,
  allDays,
  generatePodcasts,
  generateReviews,
  inDataset,
  reviewCount,
} from "./generator.ts";
import { datesOfIsoWeek, isoWeekOf } from "./lib.ts";
import { writePodcasts, writeReviews } from "./source.ts";

describe("podcast reviews generator", () => {
  it("gives the same rows, and byte-identical Parquet, for the same seed", async () => {
    expect(generateReviews(DEFAULT_SEED, "2024-05-01")).toEqual(generateReviews(DEFAULT_SEED, "2024-05-01"));
    expect(generateReviews(7, "2024-05-01")).not.toEqual(generateReviews(DEFAULT_SEED, "2024-05-01"));
    const dir = tempDir("podcast-generator-");
    const files = ["a", "b"].map((name) => join(dir, `${name}.parquet`));
    for (const file of files) await writeReviews(DEFAULT_SEED, "2024-05-01", file, "test");
    expect(readFileSync(files[0]!).equals(readFileSync(files[1]!))).toBe(true);
    const podcastFiles = ["p1", "p2"].map((name) => join(dir, `${name}.parquet`));
    for (const file of podcastFiles) await writePodcasts(DEFAULT_SEED, file, "test");
    expect(readFileSync(podcastFiles[0]!).equals(readFileSync(podcastFiles[1]!))).toBe(true);
  });

  it("has about 2,000 podcasts in 20+ categories, several per podcast", () => {
    const podcasts = generatePodcasts(DEFAULT_SEED);
    expect(podcasts).toHaveLength(PODCAST_COUNT);
    expect(new Set(podcasts.map((p) => p.podcastId)).size).toBe(PODCAST_COUNT);
    expect(new Set(podcasts.flatMap((p) => p.categories))).toEqual(new Set(CATEGORY_NAMES));
    expect(CATEGORY_NAMES.length).toBeGreaterThanOrEqual(20);
    const multi = podcasts.filter((p) => p.categories.length > 1).length;
    expect(multi / PODCAST_COUNT).toBeGreaterThan(0.4);
    expect(Math.max(...podcasts.map((p) => p.categories.length))).toBe(4);
  });

  it("has about 1,000,000 reviews over two years, with weekly and yearly seasonality", () => {
    const days = allDays();
    expect(days).toHaveLength(731);
    const counts = days.map((d) => reviewCount(DEFAULT_SEED, d));
    const total = counts.reduce((a, b) => a + b, 0);
    expect(Math.abs(total - TOTAL_REVIEWS) / TOTAL_REVIEWS).toBeLessThan(0.01);
    const byWeekday = Array.from({ length: 7 }, () => 0);
    days.forEach((d, i) => (byWeekday[(new Date(`${d}T00:00:00Z`).getUTCDay() + 6) % 7]! += counts[i]!));
    // Monday is the busiest day, Saturday the quietest.
    expect(byWeekday.indexOf(Math.max(...byWeekday))).toBe(0);
    expect(byWeekday.indexOf(Math.min(...byWeekday))).toBe(5);
    const month = (m: string) => days.flatMap((d, i) => (d.slice(0, 7) === m ? [counts[i]!] : []));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(month("2024-01"))).toBeGreaterThan(mean(month("2024-07")) * 1.15);
    expect(() => reviewCount(DEFAULT_SEED, "2025-01-01")).toThrow(/outside the dataset/);
    expect(inDataset("2024-02-30")).toBe(false);
  });

  it("skews ratings, peaks in the evening and repeats phrases", () => {
    const reviews = ["2024-05-01", "2024-05-02", "2024-05-03"].flatMap((d) => generateReviews(DEFAULT_SEED, d));
    const share = (rating: number) => reviews.filter((r) => r.rating === rating).length / reviews.length;
    expect(share(5)).toBeGreaterThan(0.6);
    expect(share(1)).toBeGreaterThan(share(2));
    expect(share(4)).toBeGreaterThan(share(3));
    expect(share(2)).toBeLessThan(0.06);
    const byHour = Array.from({ length: 24 }, () => 0);
    for (const r of reviews) byHour[new Date(r.createdAt).getUTCHours()]! += 1;
    expect(byHour[20]!).toBeGreaterThan(byHour[4]! * 5);
    expect(reviews.filter((r) => r.content.toLowerCase().includes("highly recommend")).length).toBeGreaterThan(50);
    const sorted = [...reviews].sort((a, b) => a.reviewId.localeCompare(b.reviewId));
    expect(sorted.map((r) => r.createdAt)).toEqual(reviews.map((r) => r.createdAt));
  });

  it("maps ISO weeks to dates and back", () => {
    expect(datesOfIsoWeek("2024-W18")).toEqual([
      "2024-04-29",
      "2024-04-30",
      "2024-05-01",
      "2024-05-02",
      "2024-05-03",
      "2024-05-04",
      "2024-05-05",
    ]);
    expect(datesOfIsoWeek("2024-W01")[0]).toBe("2024-01-01");
    expect(isoWeekOf("2024-12-30")).toBe("2025-W01");
    expect(() => datesOfIsoWeek("2023-W53")).toThrow(/does not exist/);
  });
});
