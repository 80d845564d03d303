import { describe, expect, it } from "vitest";
import { parseOutputPattern, patternsIntersect, type OutputPattern } from "./output-pattern.ts";

function pattern(source: string): OutputPattern {
  const parsed = parseOutputPattern(source);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

describe("output patterns", () => {
  it("match whole refs and extract named parameters", () => {
    const p = pattern("daily/category={category}/date={date}");
    expect(p.match("daily/category=comedy/date=2024-05-01")).toEqual({ category: "comedy", date: "2024-05-01" });
    expect(p.match("daily/category=comedy/date=2024-05-01/extra")).toBeUndefined();
    expect(p.match("xdaily/category=comedy/date=1")).toBeUndefined();
    expect(p.match("daily/category=/date=1")).toBeUndefined();
    expect(p.match("daily/category=a/b/date=1")).toBeUndefined();
  });

  it("treat regex characters literally", () => {
    const p = pattern("a.b/(x)={x}");
    expect(p.match("a.b/(x)=1")).toEqual({ x: "1" });
    expect(p.match("aXb/(x)=1")).toBeUndefined();
  });

  it("format parameters back into a ref", () => {
    expect(pattern("raw/date={date}").format({ date: "2024-05-01" })).toBe("raw/date=2024-05-01");
  });

  it.each([
    ["raw/{}", /unnamed parameter/],
    ["raw/{a}/{a}", /duplicate parameter \{a\}/],
    ["raw/{a}{b}", /adjacent/],
    ["raw/{a", /unclosed/],
    ["raw/a}", /unmatched/],
    ["raw/{1x}", /identifier/],
    ["", /empty/],
    ["raw /{a}", /whitespace/],
  ])("reject %j", (source, problem) => {
    expect(parseOutputPattern(source)).toMatch(problem);
  });

  describe("intersection", () => {
    it.each([
      ["raw/{i}", "raw/{j}", true],
      ["raw/{i}", "raw/special", true],
      ["raw/{i}", "clean/{i}", false],
      ["a/{x}/b", "a/{y}", false],
      ["{x}/b", "a/{y}", true],
      ["a-{x}", "{y}-b", true],
      ["a/{x}", "a/{x}/{y}", false],
      ["x={v}", "x=1/{w}", false],
      ["p/{x}.csv", "p/{y}.json", false],
      ["p/{x}.csv", "p/a{y}", true],
    ])("%j and %j: %s", (a, b, expected) => {
      const witness = patternsIntersect(pattern(a), pattern(b));
      expect(witness !== undefined).toBe(expected);
      if (witness !== undefined) {
        expect(pattern(a).match(witness)).toBeDefined();
        expect(pattern(b).match(witness)).toBeDefined();
      }
    });
  });
});
