/** @module How times, durations and ids read on the page. */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Timestamp } from "@bufbuild/protobuf/wkt";

export function ms(ts: Timestamp | undefined): number | undefined {
  return ts ? timestampMs(ts) : undefined;
}

/** "14:03:12" today, else "2024-05-01 14:03". */
export function formatTime(value: number | undefined): string {
  if (value === undefined) return "—";
  const date = new Date(value);
  const iso = new Date(value - date.getTimezoneOffset() * 60_000).toISOString();
  const today = new Date().toDateString() === date.toDateString();
  return today ? iso.slice(11, 19) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

export function fullTime(value: number | undefined): string {
  return value === undefined ? "" : new Date(value).toString();
}

export function formatDuration(millis: number | undefined): string {
  if (millis === undefined || !Number.isFinite(millis)) return "—";
  if (millis < 1000) return `${Math.max(0, Math.round(millis))} ms`;
  const s = millis / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * The last 8 characters, as the CLI shows ids (ids are time-ordered UUIDs:
 * their starts are alike, their ends differ). The full id is the link's
 * target and title.
 */
export function shortId(id: string): string {
  return id.length > 12 ? id.slice(-8) : id;
}

export function plural(n: number, word: string): string {
  return `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;
}
