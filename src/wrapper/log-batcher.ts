/**
 * @module LogBatcher: turns a job run's log lines into few LogEntry events
 * (consecutive lines of one stream per entry), and enforces the run's log
 * limit, counting what it drops.
 */
import type { LogStream, LogTruncation } from "../gen/databuild_pb.ts";
import type { EventPayload } from "../core/build-event.ts";
import { logEntry } from "../core/hot-payloads.ts";

/** How long a line may wait for others to share its entry: a live tail sees it within this (plus the recorder's batching). */
export const LOG_FLUSH_MS = 100;
/** An entry is sent once its lines hold this many bytes. */
export const LOG_CHUNK_BYTES = 64 * 1024;
/**
 * The default log limit of one job run: the first 16 MiB a job prints are
 * recorded (about 300,000 lines of 50 characters); the rest is counted and
 * dropped. Enough for any log a person reads, and it bounds what one runaway
 * job adds to the build event log that every build shares.
 */
export const DEFAULT_LOG_LIMIT_BYTES = 16 * 1024 * 1024;

export interface LogBatcherOptions {
  /** Bytes of output recorded per run (UTF-8, each newline counted); default DEFAULT_LOG_LIMIT_BYTES. */
  readonly limitBytes?: number;
  readonly flushMs?: number;
  readonly chunkBytes?: number;
}

/**
 * Collects lines into one entry until the stream changes, a piece of an
 * overlong line arrives (`continued`: the entry ends with it), the entry
 * holds `chunkBytes`, or `flushMs` passed since its first line. Every line
 * gets the next sequence number of the run, across both streams, so an
 * entry's lines are numbered `sequence`, `sequence` + 1, ...
 *
 * Once the lines recorded would pass the limit, the entry so far is sent,
 * then one `truncated` marker entry; later lines are only counted, and
 * `end()` returns the count.
 */
export class LogBatcher {
  private readonly limitBytes: number;
  private readonly flushMs: number;
  private readonly chunkBytes: number;
  /** The last sequence number given out. */
  private sequence = 0;
  private stream: LogStream = 0;
  private first = 0;
  private lines: string[] = [];
  private bytes = 0;
  private keptBytes = 0;
  private truncated = false;
  private ended = false;
  private linesDropped = 0;
  private bytesDropped = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly send: (payload: EventPayload) => void,
    options: LogBatcherOptions = {},
  ) {
    this.limitBytes = options.limitBytes || DEFAULT_LOG_LIMIT_BYTES;
    this.flushMs = options.flushMs ?? LOG_FLUSH_MS;
    this.chunkBytes = options.chunkBytes ?? LOG_CHUNK_BYTES;
  }

  add(stream: LogStream, line: string, continued: boolean): void {
    if (this.ended) return;
    const size = Buffer.byteLength(line, "utf8") + (continued ? 0 : 1);
    if (this.truncated || this.keptBytes + size > this.limitBytes) {
      this.drop(stream, size, continued);
      return;
    }
    this.keptBytes += size;
    this.sequence++;
    if (this.lines.length > 0 && stream !== this.stream) this.flush();
    if (this.lines.length === 0) {
      this.stream = stream;
      this.first = this.sequence;
    }
    this.lines.push(line);
    this.bytes += size;
    if (continued || this.bytes >= this.chunkBytes) this.flush(continued);
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  /** Sends the lines collected so far as one entry. */
  flush(continued = false): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.lines;
    if (lines.length === 0) return;
    const text = lines.length === 1 ? lines[0]! : lines.join("\n");
    this.lines = [];
    this.bytes = 0;
    this.send(logEntry(this.stream, BigInt(this.first), text, continued));
  }

  /** Sends what is left; returns what was dropped, if anything. Lines added afterwards are ignored. */
  end(): LogTruncation | undefined {
    this.flush();
    this.ended = true;
    if (!this.truncated) return undefined;
    return {
      $typeName: "databuild.v1.LogTruncation",
      limitBytes: BigInt(this.limitBytes),
      linesDropped: BigInt(this.linesDropped),
      bytesDropped: BigInt(this.bytesDropped),
    };
  }

  private drop(stream: LogStream, size: number, continued: boolean): void {
    if (!this.truncated) {
      this.truncated = true;
      this.flush();
      this.send(logEntry(stream, BigInt(this.sequence + 1), "", false, true));
    }
    // A line split in pieces counts once, with its last piece.
    if (!continued) this.linesDropped++;
    this.bytesDropped += size;
  }
}
