/**
 * @module What a token's name and scopes may be. The name becomes the
 * requester of every build request and invalidation made with the token, so
 * it is kept to characters that read plainly in a log and a shell.
 */
import { SCOPES, type Scope } from "../core/projections/tokens.ts";
import { TokenError } from "./token-error.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const NAME_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit";

/** `name` if it is a valid token name, else a TokenError ("invalid-name") that says what is allowed. */
export function validTokenName(name: string): string {
  if (!NAME.test(name))
    throw new TokenError("invalid-name", `invalid token name ${JSON.stringify(name)}: use ${NAME_RULE}`);
  return name;
}

/** `text` as a scope, else a TokenError ("unknown-scope") listing the valid ones. */
export function parseScope(text: string): Scope {
  const scope = SCOPES.find((s) => s === text.trim().toLowerCase());
  if (!scope)
    throw new TokenError(
      "unknown-scope",
      `unknown scope ${JSON.stringify(text)}: the scopes are ${SCOPES.join(", ")} (admin includes build, build includes read)`,
    );
  return scope;
}

/** The scopes given, without repeats, in SCOPES order; a TokenError ("no-scope") for none. */
export function validScopes(scopes: readonly Scope[]): Scope[] {
  for (const s of scopes) parseScope(s);
  if (scopes.length === 0) throw new TokenError("no-scope", `a token needs at least one scope (${SCOPES.join(", ")})`);
  return SCOPES.filter((s) => scopes.includes(s));
}
