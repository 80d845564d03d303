/**
 * A small TypeScript graph: hourly weather observations per city and day,
 * daily statistics over all cities (a fan-in), a weekly report over seven
 * days, and heat alerts computed by a bash job (jobs may be any executable).
 *
 *   npx databuild --graph examples/weather/databuild.ts analyze weekly_report/week=2024-W18
 *   npx databuild --graph examples/weather/databuild.ts mermaid daily_stats/date=2024-05-01
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineGraph, defineJob, query } from "databuild";

const CITIES = ["lisbon", "oslo", "tokyo"] as const;
const DATA = join(dirname(fileURLToPath(import.meta.url)), "data");

/** Writes through a temporary file so a killed job never leaves a partial partition. */
async function writeAtomically(ref: string, content: string): Promise<void> {
  const path = join(DATA, ref);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, content);
  await rename(`${path}.tmp`, path);
}

/** Deterministic pseudo-random numbers, so every rebuild gives the same data. */
function seeded(seed: string): () => number {
  let h = 2166136261;
  for (const ch of seed) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return () => ((h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0) % 10_000) / 10_000;
}

/** The seven ISO dates (Monday first) of an ISO week such as 2024-W18. */
export function datesOfIsoWeek(week: string): string[] {
  const m = /^(\d{4})-W(\d{2})$/.exec(week);
  if (!m) throw new Error(`week ${JSON.stringify(week)} is not an ISO week like 2024-W18`);
  const jan4 = new Date(Date.UTC(Number(m[1]), 0, 4));
  const monday = new Date(
    jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * 86_400_000 + (Number(m[2]) - 1) * 7 * 86_400_000,
  );
  return Array.from({ length: 7 }, (_, d) => new Date(monday.getTime() + d * 86_400_000).toISOString().slice(0, 10));
}

const observations = defineJob({
  label: "observations",
  outputs: ["observations/city={city}/date={date}"],
  exec: async (config) => {
    for (const { str: ref } of config.outputs) {
      const random = seeded(ref);
      const hours = Array.from({ length: 24 }, (_, hour) => ({
        hour,
        celsius: Math.round((12 + 10 * Math.sin(((hour - 9) / 24) * 2 * Math.PI) + random() * 6) * 10) / 10,
      }));
      await writeAtomically(ref, JSON.stringify(hours));
    }
  },
});

const dailyStats = defineJob({
  label: "daily_stats",
  outputs: ["daily_stats/date={date}"],
  version: "1.0.0",
  config: ({ date }) => ({ inputs: CITIES.map((city) => `observations/city=${city}/date=${date}`) }),
  exec: async (config) => {
    const stats: Record<string, { min: number; max: number; mean: number }> = {};
    for (const input of config.inputs) {
      const ref = input.partitionRef!.str;
      const city = /city=([^/]+)/.exec(ref)![1]!;
      const temps = (JSON.parse(await readFile(join(DATA, ref), "utf8")) as { celsius: number }[]).map(
        (h) => h.celsius,
      );
      const mean = temps.reduce((a, b) => a + b, 0) / temps.length;
      stats[city] = { min: Math.min(...temps), max: Math.max(...temps), mean: Math.round(mean * 10) / 10 };
    }
    await writeAtomically(config.outputs[0]!.str, JSON.stringify(stats, null, 2));
  },
});

const weeklyReport = defineJob({
  label: "weekly_report",
  outputs: ["weekly_report/week={week}"],
  config: ({ week }) => ({ inputs: datesOfIsoWeek(week).map((date) => `daily_stats/date=${date}`) }),
  exec: async (config) => {
    const lines = [
      `# Weather, ${config.outputs[0]!.str.split("=")[1]}`,
      "",
      "| date | " + CITIES.join(" | ") + " |",
      "|---".repeat(CITIES.length + 1) + "|",
    ];
    for (const input of config.inputs) {
      const ref = input.partitionRef!.str;
      const stats = JSON.parse(await readFile(join(DATA, ref), "utf8")) as Record<string, { mean: number }>;
      lines.push(`| ${ref.split("=")[1]} | ${CITIES.map((c) => `${stats[c]!.mean} °C`).join(" | ")} |`);
    }
    await writeAtomically(config.outputs[0]!.str, lines.join("\n") + "\n");
  },
});

// A command job: databuild runs it with config.args appended, in this directory.
const heatAlerts = defineJob({
  label: "heat_alerts",
  outputs: ["heat_alerts/date={date}"],
  config: ({ date }) => ({
    inputs: [`daily_stats/date=${date}`, query(`heat_alerts/date=${previousDay(date)}`)],
    args: [`data/daily_stats/date=${date}`, `data/heat_alerts/date=${date}`],
  }),
  exec: ["bash", "jobs/heat-alerts.sh"],
});

function previousDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

export default defineGraph({
  label: "weather",
  jobs: [observations, dailyStats, weeklyReport, heatAlerts],
});
