/**
 * @module Token administration over the API (CreateToken, ListTokens,
 * RevokeToken: admin scope), through src/tokens: the same decisions as
 * `databuild token`, with the caller's token name as `created_by` or
 * `revoked_by`.
 */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type {
  CreateTokenRequest,
  CreateTokenResponse,
  ListTokensResponse,
  RevokeTokenRequest,
  TokenView,
} from "../gen/databuild_pb.ts";
import type { EventLog } from "../core/event-log.ts";
import { createToken, revokeToken, scopeFromProto, TokenError, type Scope, type TokenBook } from "../tokens/index.ts";
import { principalOf } from "./auth.ts";
import type { LiveLog } from "./reads/index.ts";

/** A TokenError as the status code that says what is wrong. */
export function tokenErrorToConnect(error: unknown): unknown {
  if (!(error instanceof TokenError)) return error;
  const code =
    error.problem === "not-found"
      ? Code.NotFound
      : error.problem === "name-taken"
        ? Code.AlreadyExists
        : error.problem === "already-revoked"
          ? Code.FailedPrecondition
          : Code.InvalidArgument;
  return new ConnectError(error.message, code);
}

export function tokenRpcs(deps: { log: EventLog; live: LiveLog; tokens: TokenBook }) {
  const { log, live, tokens } = deps;
  return {
    async createToken(req: CreateTokenRequest, context: HandlerContext): Promise<CreateTokenResponse> {
      const principal = principalOf(context);
      const scopes: Scope[] = [];
      req.scopes.forEach((scope, i) => {
        const known = scopeFromProto(scope);
        if (!known) throw new ConnectError(`scopes[${i}]: unknown scope ${scope}`, Code.InvalidArgument);
        scopes.push(known);
      });
      try {
        const { token, view } = await createToken(log, { name: req.name, scopes, createdBy: principal.name });
        await live.caughtUpTo(await log.head());
        return { $typeName: "databuild.v1.CreateTokenResponse", token, view };
      } catch (error) {
        throw tokenErrorToConnect(error);
      }
    },

    listTokens(): ListTokensResponse {
      return { $typeName: "databuild.v1.ListTokensResponse", tokens: tokens.views() };
    },

    async revokeToken(req: RevokeTokenRequest, context: HandlerContext): Promise<TokenView> {
      const principal = principalOf(context);
      try {
        const view = await revokeToken(log, req.name, principal.name);
        // This replica refuses the token from the answer on; the others once their live logs take it in.
        await live.caughtUpTo(await log.head());
        return view;
      } catch (error) {
        throw tokenErrorToConnect(error);
      }
    },
  };
}
