import { describe, expect, it } from "vitest";
import { hashToken, newToken, shownPrefix } from "./token-secret.ts";

describe("token secrets", () => {
  it("makes tokens of 'dbt_' and 43 base64url characters, each different", () => {
    const tokens = Array.from({ length: 100 }, newToken);
    for (const t of tokens) expect(t).toMatch(/^dbt_[A-Za-z0-9_-]{43}$/);
    expect(new Set(tokens).size).toBe(100);
  });

  it("hashes as lowercase hex SHA-256 of the UTF-8 bytes", () => {
    // FIPS 180-2's test vector, and a non-ASCII string (its UTF-8 bytes, not UTF-16).
    expect(hashToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hashToken("\u00e9")).toBe("4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c");
  });

  it("shows the prefix and four characters", () => {
    expect(shownPrefix("dbt_abcdefgh")).toBe("dbt_abcd");
  });
});
