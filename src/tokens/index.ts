/**
 * @module Bearer tokens and their scopes (SPEC 3.7), as the service and
 * `databuild token` use them: the token book (a read model of the log),
 * making, hashing, creating and revoking tokens (decided atomically on the
 * log), and authorizing a call from its Authorization header. The one entry
 * of src/tokens/. docs/tokens.md tells the whole story.
 */
export { grants, SCOPES, scopeFromProto, scopeToProto, TOKEN_KINDS, TokenBook } from "../core/projections/tokens.ts";
export type { Principal, Scope } from "../core/projections/tokens.ts";
export { authorize } from "./authorize.ts";
export type { AuthDecision } from "./authorize.ts";
export { TokenError } from "./token-error.ts";
export type { TokenProblem } from "./token-error.ts";
export { NAME_RULE, parseScope, validScopes, validTokenName } from "./token-names.ts";
export { createToken, followTokenBook, loadTokenBook, loadTokenBookAt, revokeToken } from "./token-log.ts";
export { hashToken, newToken, shownPrefix, TOKEN_PREFIX } from "./token-secret.ts";
