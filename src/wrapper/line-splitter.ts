/**
 * @module Turns a job's output stream into log lines: streaming UTF-8 decode, newline split, long-line split.
 */

/** Longest log line, in UTF-16 code units; longer lines become several entries. */
export const MAX_LINE_CHARS = 64 * 1024;

/** Receives one log line (without its newline); `continued` means the next piece belongs to the same line. */
export type LineSink = (line: string, continued: boolean) => void;

/**
 * Splits one byte stream into lines. Bytes that are not UTF-8 become U+FFFD;
 * a character split across chunks is decoded whole. A "\r" before "\n" is
 * dropped with it. Memory stays within about `maxChars` plus one chunk
 * whatever the job prints, because an unterminated line is passed on in
 * `continued` pieces as soon as it passes `maxChars`.
 */
export class LineSplitter {
  private readonly decoder = new TextDecoder("utf-8");
  private pending = "";

  constructor(
    private readonly sink: LineSink,
    private readonly maxChars = MAX_LINE_CHARS,
  ) {}

  push(chunk: Uint8Array): void {
    this.feed(this.decoder.decode(chunk, { stream: true }));
  }

  /** Flushes the decoder and the last line, which may lack a newline. */
  end(): void {
    this.feed(this.decoder.decode());
    if (this.pending.length > 0) {
      const last = this.pending;
      this.pending = "";
      this.sink(last, false);
    }
  }

  private feed(text: string): void {
    if (text.length === 0) return;
    const buffer = this.pending.length > 0 ? this.pending + text : text;
    let start = 0;
    for (let newline = buffer.indexOf("\n"); newline !== -1; newline = buffer.indexOf("\n", start)) {
      const end = newline > start && buffer.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      emitLine(buffer.slice(start, end), this.maxChars, this.sink);
      start = newline + 1;
    }
    // Pass on full pieces of an overlong unterminated line now, but keep a
    // non-empty rest so that the line's last piece is never empty.
    while (buffer.length - start > this.maxChars) {
      const end = pieceEnd(buffer, start, this.maxChars);
      this.sink(buffer.slice(start, end), true);
      start = end;
    }
    this.pending = start === 0 ? buffer : buffer.slice(start);
  }
}

/** Sends `line` to `sink`, in `continued` pieces of at most `maxChars` when it is longer. */
export function emitLine(line: string, maxChars: number, sink: LineSink): void {
  let start = 0;
  while (line.length - start > maxChars) {
    const end = pieceEnd(line, start, maxChars);
    sink(line.slice(start, end), true);
    start = end;
  }
  sink(start === 0 ? line : line.slice(start), false);
}

/** Where a piece starting at `start` ends, never between the two halves of a surrogate pair. */
function pieceEnd(text: string, start: number, maxChars: number): number {
  const end = start + maxChars;
  const code = text.charCodeAt(end - 1);
  return code >= 0xd800 && code <= 0xdbff && maxChars > 1 ? end - 1 : end;
}
