/**
 * @module Interning: a value stored once in a small table (`ids`, `partitions`)
 * and referred to by its integer id everywhere else. A build request id or a
 * job run id recurs in every event of its build or run, and a partition ref in
 * every index entry of that partition; an integer of one to three bytes
 * stands in for each copy.
 */
import type { Database, Statement } from "better-sqlite3";

/** At most this many values are remembered per connection; past it the memory starts afresh. */
const CACHE_LIMIT = 20_000;

/**
 * Finds or adds values of one table (`id INTEGER PRIMARY KEY`, a UNIQUE
 * value column), inside the caller's write transaction. Ids never change
 * once committed, so they are remembered; an id added by a transaction that
 * then rolled back names nothing, so what a transaction looked up is only
 * remembered once it committed (`committed`), and forgotten if it did not
 * (`rolledBack`).
 */
export class Interner {
  private readonly select: Statement;
  private readonly insert: Statement;
  private readonly known = new Map<string, number>();
  private readonly added = new Map<string, number>();

  constructor(
    db: Database,
    table: string,
    column: string,
    /** The column value of a string (its stored form). */
    private readonly toValue: (text: string) => unknown = (text) => text,
  ) {
    this.select = db.prepare(`SELECT id FROM ${table} WHERE ${column} = ?`).pluck();
    this.insert = db.prepare(`INSERT INTO ${table} (${column}) VALUES (?)`);
  }

  /** The id of `text`, added to the table when new. Call inside a write transaction. */
  idOf(text: string): number {
    const id = this.known.get(text) ?? this.added.get(text);
    if (id !== undefined) return id;
    const value = this.toValue(text);
    const found = (this.select.get(value) as number | undefined) ?? Number(this.insert.run(value).lastInsertRowid);
    this.added.set(text, found);
    return found;
  }

  /** The transaction that looked values up committed: remember them. */
  committed(): void {
    if (this.known.size + this.added.size > CACHE_LIMIT) this.known.clear();
    for (const [text, id] of this.added) this.known.set(text, id);
    this.added.clear();
  }

  /** The transaction rolled back: forget what it looked up. */
  rolledBack(): void {
    this.added.clear();
  }
}
