/**
 * @module Follows a JSON-lines file another host appends to: each read
 * returns the lines completed since the last one. A line still being
 * written (no newline yet) waits for the next read; a shared filesystem may
 * show a file's growth late, never out of order.
 */
import { open } from "node:fs/promises";

/** Bytes read per call at most, so a run that printed gigabytes is followed in steps. */
const CHUNK = 4 * 1024 * 1024;

export class EventsFile {
  private offset = 0;
  private partial = Buffer.alloc(0);
  private reading: Promise<string[]> | undefined;

  constructor(readonly path: string) {}

  /** The complete lines appended since the last call (none while the file does not exist). */
  read(): Promise<string[]> {
    // One read at a time: two would both start at the same offset.
    this.reading ??= this.readNow().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** What is left after the last newline: a line the writer never finished (it died mid-write). */
  get unfinished(): string {
    return this.partial.toString("utf8");
  }

  private async readNow(): Promise<string[]> {
    let file;
    try {
      file = await open(this.path, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const lines: string[] = [];
    try {
      const buffer = Buffer.alloc(CHUNK);
      for (;;) {
        const { bytesRead } = await file.read(buffer, 0, CHUNK, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        let data = Buffer.concat([this.partial, buffer.subarray(0, bytesRead)]);
        let newline = data.indexOf(10);
        while (newline !== -1) {
          lines.push(data.subarray(0, newline).toString("utf8"));
          data = data.subarray(newline + 1);
          newline = data.indexOf(10);
        }
        this.partial = Buffer.from(data);
        if (bytesRead < CHUNK) break;
      }
    } finally {
      await file.close();
    }
    return lines;
  }
}
