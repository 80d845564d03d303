/**
 * @module Reading LogEntry events. An entry holds one or more consecutive
 * lines of one stream, joined by "\n" in `line` and numbered from
 * `sequence`; logs written before the wrapper batched lines hold one line per
 * entry, which is the same format. Readers of job output go through here.
 */
import type { LogEntry, LogTruncation } from "../gen/databuild_pb.ts";

/** How many lines the entry holds (0 for a truncation marker). */
export function entryLineCount(entry: LogEntry): number {
  if (entry.truncated) return 0;
  let count = 1;
  for (let i = entry.line.indexOf("\n"); i !== -1; i = entry.line.indexOf("\n", i + 1)) count++;
  return count;
}

/** The entry's lines in order, each with its sequence number. */
export function* entryLines(entry: LogEntry): IterableIterator<{ sequence: bigint; line: string }> {
  if (entry.truncated) return;
  let sequence = entry.sequence;
  for (const line of entry.line.split("\n")) yield { sequence: sequence++, line };
}

/**
 * The entry's text as the job printed it: its lines, each followed by a
 * newline, except a last line that is `continued` in the next entry.
 */
export function entryText(entry: LogEntry): string {
  if (entry.truncated) return "";
  return entry.continued ? entry.line : entry.line + "\n";
}

/** "12,345 lines (5.2 MiB) over the log limit of 16 MiB were not recorded". */
export function describeTruncation(t: LogTruncation): string {
  const lines = Number(t.linesDropped);
  return (
    `${lines.toLocaleString("en-US")} line${lines === 1 ? "" : "s"} (${formatBytes(Number(t.bytesDropped))}) ` +
    `over the log limit of ${formatBytes(Number(t.limitBytes))} ${lines === 1 ? "was" : "were"} not recorded`
  );
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
