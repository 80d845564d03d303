import { describe, expect, it } from "vitest";
import { eventPayload } from "../core/build-event.ts";
import { newEvent } from "../core/new-event.ts";
import { SCOPES, scopeToProto, TokenBook, type Scope } from "../core/projections/tokens.ts";
import { authorize } from "./authorize.ts";
import { hashToken, newToken } from "./token-secret.ts";

/** A book with one live token per scope, and a revoked one; returns the tokens. */
function bookOf(): { book: TokenBook; tokens: Record<Scope | "revoked", string> } {
  const book = new TokenBook();
  const tokens = { read: newToken(), build: newToken(), admin: newToken(), revoked: newToken() };
  for (const [name, token] of Object.entries(tokens)) {
    const scopes = name === "revoked" ? ["admin" as const] : [name as Scope];
    book.apply(
      newEvent(
        { buildRequestId: "" },
        eventPayload("tokenCreated", {
          name,
          scopes: scopes.map(scopeToProto),
          tokenHash: hashToken(token),
          createdBy: "t",
          tokenPrefix: token.slice(0, 8),
        }),
      ),
    );
  }
  book.apply(newEvent({ buildRequestId: "" }, eventPayload("tokenRevoked", { name: "revoked", revokedBy: "t" })));
  return { book, tokens };
}

const closed = { allowAnonymousRead: false };
const open = { allowAnonymousRead: true };

describe("authorize", () => {
  const { book, tokens } = bookOf();

  it("refuses a call without a header as unauthenticated, saying how to send a token", () => {
    for (const header of [undefined, null, "", "   "])
      for (const needed of SCOPES) {
        const decision = authorize(book, header, needed, closed);
        expect(decision).toEqual({ ok: false, code: "unauthenticated", message: expect.stringContaining("Bearer") });
        expect(decision.ok === false && decision.message).toContain(`the ${needed} scope`);
      }
    expect(authorize(book, undefined, "read", closed)).toMatchObject({
      message: expect.stringContaining("--allow-anonymous-read"),
    });
  });

  it("lets an anonymous read through when allowed, with no principal; never an anonymous write", () => {
    expect(authorize(book, undefined, "read", open)).toEqual({ ok: true, principal: undefined });
    expect(authorize(book, null, "read", open)).toEqual({ ok: true, principal: undefined });
    expect(authorize(book, undefined, "build", open)).toMatchObject({ ok: false, code: "unauthenticated" });
    expect(authorize(book, undefined, "admin", open)).toMatchObject({ ok: false, code: "unauthenticated" });
  });

  it("refuses a malformed header as unauthenticated, even for a read that may be anonymous", () => {
    for (const header of [
      tokens.admin, // no scheme
      `Basic ${tokens.admin}`,
      "Bearer",
      "Bearer ",
      `Bearer ${tokens.admin} extra`,
      `Bearer${tokens.admin}`,
    ]) {
      const decision = authorize(book, header, "read", open);
      expect(decision, header).toEqual({
        ok: false,
        code: "unauthenticated",
        message: 'the authorization header is not of the form "Bearer TOKEN"',
      });
    }
  });

  it("refuses an unknown token and a revoked one as unauthenticated, without repeating the token", () => {
    for (const token of [newToken(), tokens.revoked, tokens.admin.slice(0, -1)]) {
      const decision = authorize(book, `Bearer ${token}`, "read", open);
      expect(decision).toEqual({
        ok: false,
        code: "unauthenticated",
        message: "the bearer token is unknown or revoked",
      });
    }
  });

  it("takes the scheme in any case and surrounding blanks", () => {
    for (const header of [`bearer ${tokens.read}`, `BEARER ${tokens.read}`, `Bearer \t${tokens.read} `])
      expect(authorize(book, header, "read", closed)).toEqual({
        ok: true,
        principal: { name: "read", scopes: ["read"] },
      });
  });

  it("grants each scope what it includes (admin ⊇ build ⊇ read) and refuses the rest as permission_denied", () => {
    const table = SCOPES.map((held) =>
      SCOPES.map((needed) => {
        const decision = authorize(book, `Bearer ${tokens[held]}`, needed, closed);
        return decision.ok ? decision.principal!.name : decision.code;
      }),
    );
    expect(table).toEqual([
      ["read", "permission_denied", "permission_denied"],
      ["build", "build", "permission_denied"],
      ["admin", "admin", "admin"],
    ]);
  });

  it("names the token and the scope needed when it lacks it", () => {
    expect(authorize(book, `Bearer ${tokens.read}`, "build", closed)).toEqual({
      ok: false,
      code: "permission_denied",
      message: 'token "read" has the scope read; this call needs build',
    });
    const denied = authorize(book, `Bearer ${tokens.build}`, "admin", closed);
    expect(denied.ok === false && denied.message).toBe('token "build" has the scope build; this call needs admin');
    expect(denied.ok === false && denied.message).not.toContain(tokens.build);
  });
});
