import { describe, expect, it } from "vitest";
import { LogStream, type LogEntry } from "../gen/databuild_pb.ts";
import type { EventPayload } from "../core/build-event.ts";
import { entryText } from "../core/log-entries.ts";
import { DEFAULT_LOG_LIMIT_BYTES, LOG_FLUSH_MS, LogBatcher, type LogBatcherOptions } from "./log-batcher.ts";

const { STDOUT, STDERR } = LogStream;

function batcher(options: LogBatcherOptions = {}): { logs: LogBatcher; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const send = (payload: EventPayload) => {
    if (payload.case === "logEntry") entries.push(payload.value);
  };
  return { logs: new LogBatcher(send, options), entries };
}

/** [stream, first sequence, text, continued, truncated] per entry. */
const shapeOf = (entries: readonly LogEntry[]) =>
  entries.map((e) => [e.stream, Number(e.sequence), e.line, e.continued, e.truncated ?? false]);

describe("LogBatcher", () => {
  it("puts consecutive lines of one stream in one entry, numbered across both streams", () => {
    const { logs, entries } = batcher();
    logs.add(STDOUT, "a", false);
    logs.add(STDOUT, "b", false);
    logs.add(STDERR, "warn", false);
    logs.add(STDOUT, "", false);
    logs.add(STDOUT, "c", false);
    expect(entries).toHaveLength(2); // a change of stream ends an entry; "" and "c" wait for more
    expect(logs.end()).toBeUndefined();
    expect(shapeOf(entries)).toEqual([
      [STDOUT, 1, "a\nb", false, false],
      [STDERR, 3, "warn", false, false],
      [STDOUT, 4, "\nc", false, false],
    ]);
    expect(entries.map(entryText).join("")).toBe("a\nb\nwarn\n\nc\n");
  });

  it("ends an entry with each piece of an overlong line", () => {
    const { logs, entries } = batcher();
    logs.add(STDOUT, "before", false);
    logs.add(STDOUT, "piece1", true);
    logs.add(STDOUT, "piece2", true);
    logs.add(STDOUT, "end", false);
    logs.end();
    expect(shapeOf(entries)).toEqual([
      [STDOUT, 1, "before\npiece1", true, false],
      [STDOUT, 3, "piece2", true, false],
      [STDOUT, 4, "end", false, false],
    ]);
    expect(entries.map(entryText).join("")).toBe("before\npiece1piece2end\n");
  });

  it("sends an entry once it holds chunkBytes", () => {
    const { logs, entries } = batcher({ chunkBytes: 10 });
    for (const line of ["1234", "5678", "9", "x"]) logs.add(STDOUT, line, false);
    // 5 + 5 bytes (each newline counts) fill the first entry.
    expect(shapeOf(entries)).toEqual([[STDOUT, 1, "1234\n5678", false, false]]);
    logs.end();
    expect(entries).toHaveLength(2);
  });

  it(`sends waiting lines within ${LOG_FLUSH_MS} ms, for a live tail`, async () => {
    const { logs, entries } = batcher();
    const started = Date.now();
    logs.add(STDOUT, "progress 1", false);
    while (entries.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(Date.now() - started).toBeLessThan(LOG_FLUSH_MS + 100);
    expect(entries[0]!.line).toBe("progress 1");
    logs.end();
  });

  it("records output up to the limit, marks where it stopped, and counts what it dropped", () => {
    const { logs, entries } = batcher({ limitBytes: 12 });
    logs.add(STDOUT, "first", false); // 6 bytes
    logs.add(STDOUT, "ü", false); // 3 bytes in UTF-8
    logs.add(STDERR, "too long", false); // 9: over the limit, dropped, and so is everything after
    logs.add(STDOUT, "x", false);
    logs.add(STDOUT, "piece", true);
    logs.add(STDOUT, "rest", false);
    const truncation = logs.end();
    expect(shapeOf(entries)).toEqual([
      [STDOUT, 1, "first\nü", false, false],
      [STDERR, 3, "", false, true],
    ]);
    expect(entries.map(entryText).join("")).toBe("first\nü\n");
    expect(truncation).toMatchObject({ limitBytes: 12n, linesDropped: 3n, bytesDropped: 9n + 2n + 5n + 5n });
  });

  it("defaults to a 16 MiB limit and ignores lines after end()", () => {
    expect(DEFAULT_LOG_LIMIT_BYTES).toBe(16 * 1024 * 1024);
    const { logs, entries } = batcher({ limitBytes: 0 });
    const line = "y".repeat(1023);
    for (let i = 0; i < 16 * 1024; i++) logs.add(STDOUT, line, false);
    expect(logs.end()).toBeUndefined();
    logs.add(STDOUT, "late", false);
    expect(logs.end()).toBeUndefined();
    expect(entries.reduce((n, e) => n + e.line.length + 1, 0)).toBe(16 * 1024 * 1024);
    expect(entries.every((e) => !e.truncated)).toBe(true);
  });
});
