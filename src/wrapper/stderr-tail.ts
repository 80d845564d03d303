/**
 * @module The last lines of a job's stderr, kept for TaskFailed.stderr_tail.
 */

/** Characters kept of each tail line, so a failed run's event stays small. */
const TAIL_LINE_CHARS = 1000;

/**
 * A ring of the last `limit` stderr lines. Takes log pieces as the line
 * splitter emits them; a line split into `continued` pieces is kept as its
 * first piece, cut to TAIL_LINE_CHARS.
 */
export class StderrTail {
  private readonly lines: string[] = [];
  private next = 0;
  private inLine = false;

  constructor(private readonly limit: number) {}

  add(piece: string, continued: boolean): void {
    const continuing = this.inLine;
    this.inLine = continued;
    if (continuing || this.limit === 0) return;
    const line = piece.length > TAIL_LINE_CHARS || continued ? piece.slice(0, TAIL_LINE_CHARS) + " [...]" : piece;
    if (this.lines.length < this.limit) this.lines.push(line);
    else this.lines[this.next] = line;
    this.next = (this.next + 1) % this.limit;
  }

  /** The kept lines, oldest first. */
  toArray(): string[] {
    if (this.lines.length < this.limit) return [...this.lines];
    return [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
  }
}
