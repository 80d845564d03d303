/**
 * @module Quoting for the bash scripts `databuild compile --bash` writes.
 */

/** Words bash reads as themselves: no quoting needed (no glob, tilde, brace, variable or space). */
const PLAIN_WORD = /^[A-Za-z0-9_./,:=+@%-]+$/;

/**
 * `text` as one bash word that expands to exactly `text`: as it is when it
 * has nothing bash would interpret, else single-quoted (a `'` inside becomes
 * `'\''`). Single quotes keep everything else literal, newlines included.
 */
export function shellWord(text: string): string {
  if (PLAIN_WORD.test(text)) return text;
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Always single-quoted: for array elements and values shown to people, where a plain word would read the same. */
export function shellQuoted(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A name bash can `export` (an identifier). */
export function isShellVariableName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}
