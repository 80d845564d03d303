/**
 * @module The one error of token administration: a bad name or scope, a name
 * already taken, a token that is not there. All are the caller's to fix
 * (exit 2 on the CLI; the service maps `problem` to a status code).
 */
import { DatabuildError } from "../core/errors.ts";

export type TokenProblem =
  /** The name has characters other than those allowed, or is too long or empty. */
  | "invalid-name"
  /** A live token already has the name (revoke it first). */
  | "name-taken"
  /** No token of that name was ever created. */
  | "not-found"
  /** A token of that name exists but is revoked already (revoking is done once). */
  | "already-revoked"
  /** No scope was given. */
  | "no-scope"
  /** A scope that is not read, build or admin. */
  | "unknown-scope";

export class TokenError extends DatabuildError {
  readonly code = "TOKEN";
  readonly kind = "usage";
  constructor(
    readonly problem: TokenProblem,
    message: string,
  ) {
    super(message);
  }
}
