/**
 * @module Whether a call may go ahead: the bearer token of its
 * `Authorization` header (HTTP) or `authorization` metadata (gRPC), looked
 * up by its hash in the token book, and the scope the call needs. A refused
 * call is `unauthenticated` (no token, a malformed header, an unknown or
 * revoked token) or `permission_denied` (a live token without the scope).
 * The messages never repeat the token.
 */
import { grants, type Principal, type Scope, type TokenBook } from "../core/projections/tokens.ts";
import { hashToken } from "./token-secret.ts";

export type AuthDecision =
  | { ok: true; principal: Principal | undefined }
  | { ok: false; code: "unauthenticated" | "permission_denied"; message: string };

const BEARER = /^bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * Decides a call that needs `needed`, from its authorization header (null or
 * undefined when absent). With `allowAnonymousRead`, a read without any
 * header goes ahead with no principal; a header that is there is checked
 * all the same.
 */
export function authorize(
  book: TokenBook,
  authorization: string | null | undefined,
  needed: Scope,
  options: { allowAnonymousRead: boolean },
): AuthDecision {
  const refuse = (message: string): AuthDecision => ({ ok: false, code: "unauthenticated", message });
  if (authorization === null || authorization === undefined || authorization.trim() === "") {
    if (needed === "read" && options.allowAnonymousRead) return { ok: true, principal: undefined };
    const anonymous = needed === "read" ? " (or start the service with --allow-anonymous-read)" : "";
    return refuse(
      `this call needs a token with the ${needed} scope: send it as "Authorization: Bearer TOKEN"${anonymous}`,
    );
  }
  const bearer = BEARER.exec(authorization);
  if (!bearer) return refuse('the authorization header is not of the form "Bearer TOKEN"');
  // The hash is the key: a map lookup compares no secret byte by byte.
  const principal = book.byHash(hashToken(bearer[1]!));
  if (!principal) return refuse("the bearer token is unknown or revoked");
  if (!grants(principal.scopes, needed))
    return {
      ok: false,
      code: "permission_denied",
      message: `token "${principal.name}" has the scope ${principal.scopes.join(", ") || "(none)"}; this call needs ${needed}`,
    };
  return { ok: true, principal };
}
