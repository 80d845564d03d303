import { describe, expect, it } from "vitest";
import { MalformedRefError } from "./errors.ts";
import { assertValidRef, refProblem } from "./partition-ref.ts";

describe("partition refs", () => {
  it("accepts printable refs with segments and unicode", () => {
    expect(refProblem("reviews/date=2024-05-01")).toBeUndefined();
    expect(refProblem("summaries/category=café/week=2024-W18")).toBeUndefined();
  });

  it.each([
    ["", "empty"],
    ["reviews/date= 2024", "whitespace"],
    ["a\tb", "whitespace"],
    ["a\u0007b", "control"],
    ["a\u200bb", "control"],
    ["trailing\n", "whitespace"],
  ])("rejects %j (%s)", (ref, what) => {
    expect(refProblem(ref)).toContain(what);
  });

  it("throws MalformedRefError naming the ref", () => {
    expect(() => assertValidRef("bad ref")).toThrowError(MalformedRefError);
    expect(() => assertValidRef("bad ref")).toThrowError(/"bad ref"/);
  });
});
