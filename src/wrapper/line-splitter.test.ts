import { describe, expect, it } from "vitest";
import { LineSplitter } from "./line-splitter.ts";
import { StderrTail } from "./stderr-tail.ts";

function split(chunks: (string | number[])[], maxChars?: number): [string, boolean][] {
  const out: [string, boolean][] = [];
  const splitter = new LineSplitter((line, continued) => out.push([line, continued]), maxChars);
  for (const chunk of chunks) splitter.push(typeof chunk === "string" ? Buffer.from(chunk) : Uint8Array.from(chunk));
  splitter.end();
  return out;
}

describe("LineSplitter", () => {
  it("splits on newlines, drops CR before LF, and emits an unterminated last line at the end", () => {
    expect(split(["a\nb", "c\r\n\n", "last"])).toEqual([
      ["a", false],
      ["bc", false],
      ["", false],
      ["last", false],
    ]);
    expect(split(["done\n"])).toEqual([["done", false]]);
    expect(split([])).toEqual([]);
  });

  it("decodes a multi-byte character split across chunks", () => {
    const bytes = [...Buffer.from("é😀\n")];
    expect(split([bytes.slice(0, 1), bytes.slice(1, 3), bytes.slice(3)])).toEqual([["é😀", false]]);
  });

  it("replaces invalid bytes, including a truncated character at the end, with U+FFFD", () => {
    expect(split([[0x61, 0xff, 0x62, 0x0a, 0xf0, 0x9f]])).toEqual([
      ["a\uFFFDb", false],
      ["\uFFFD", false],
    ]);
  });

  it("splits long lines into continued pieces, whether or not they end in a newline", () => {
    expect(split(["abcdefgh", "ij\nkl\n"], 4)).toEqual([
      ["abcd", true],
      ["efgh", true],
      ["ij", false],
      ["kl", false],
    ]);
    expect(split(["abcdefgh\n"], 4)).toEqual([
      ["abcd", true],
      ["efgh", false],
    ]);
  });

  it("never splits a surrogate pair", () => {
    const pieces = split(["ab😀cd\n"], 3);
    expect(pieces).toEqual([
      ["ab", true],
      ["😀c", true],
      ["d", false],
    ]);
  });
});

describe("StderrTail", () => {
  it("keeps the last lines, a split line once, cut short", () => {
    const tail = new StderrTail(3);
    for (const line of ["1", "2", "3", "4"]) tail.add(line, false);
    tail.add("x".repeat(2000), true);
    tail.add("rest of the long line", false);
    expect(tail.toArray()).toEqual(["3", "4", "x".repeat(1000) + " [...]"]);
  });
});
