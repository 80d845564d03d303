/**
 * @module Partition refs: validation of the strings that name partitions
 * (SPEC 2: non-empty, printable, no whitespace or control characters).
 */
import { MalformedRefError } from "./errors.ts";

// Whitespace (Unicode White_Space) and control/format/unassigned-surrogate
// characters are what make a ref unprintable or ambiguous on a command line.
const FORBIDDEN = /[\s\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u;

/** Returns what is wrong with `ref`, or undefined when it is a valid ref. */
/** Printable ASCII without space: always valid, and checked several times faster than FORBIDDEN. */
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

export function refProblem(ref: string): string | undefined {
  if (PRINTABLE_ASCII.test(ref)) return undefined;
  if (ref.length === 0) return "it is empty";
  const bad = FORBIDDEN.exec(ref);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
    const what = /\s/u.test(bad[0]) ? "whitespace" : "a control or unprintable character";
    return `it contains ${what} (U+${code}) at position ${bad.index}`;
  }
  return undefined;
}

/** Throws MalformedRefError unless `ref` is a valid partition ref. */
export function assertValidRef(ref: string): string {
  const problem = refProblem(ref);
  if (problem) throw new MalformedRefError(ref, problem);
  return ref;
}
