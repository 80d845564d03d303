/**
 * @module Making a token and the one thing kept of it: 32 random bytes,
 * base64url, behind a "dbt_" prefix (so a leaked one is recognisable in a
 * log or a scanner); the log stores only the SHA-256 of its UTF-8 bytes
 * and its first characters.
 */
import { createHash, randomBytes } from "node:crypto";

export const TOKEN_PREFIX = "dbt_";
/** How much of a token the list shows: the prefix and 4 characters ("dbt_ab12"). */
const SHOWN_CHARS = TOKEN_PREFIX.length + 4;

/** A fresh token: "dbt_" and 43 characters of base64url (256 random bits). */
export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

/** Lowercase hex SHA-256 of `token`'s UTF-8 bytes, as TokenCreated.token_hash stores it. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** The first characters of `token`, which TokenCreated.token_prefix stores. */
export function shownPrefix(token: string): string {
  return token.slice(0, SHOWN_CHARS);
}
