/**
 * @module Who may call what (SPEC 3.7): the scope each RPC needs, and the
 * interceptor that checks the caller's bearer token against the token book
 * (a model of the LiveLog, so a token created or revoked on any replica
 * counts here once the live log has taken it in) before the handler runs.
 * A refused call never reaches its handler, so it writes nothing. The
 * principal (the token's name) is the requester of what the call records.
 */
import { Code, ConnectError, createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { authorize, type Principal, type Scope, type TokenBook } from "../tokens/index.ts";

/** The scope each RPC needs; an RPC not listed needs admin (a new RPC is closed until someone opens it). */
export const METHOD_SCOPES: Readonly<Record<string, Scope>> = {
  RequestBuild: "build",
  CancelBuildRequest: "build",
  Invalidate: "build",
  PauseTrigger: "admin",
  ResumeTrigger: "admin",
  CreateToken: "admin",
  ListTokens: "admin",
  RevokeToken: "admin",
  GetBuildRequest: "read",
  ListBuildRequests: "read",
  GetPartitions: "read",
  GetPartitionGrid: "read",
  ListPartitions: "read",
  ExplainPartition: "read",
  WatchEvents: "read",
  GetJobRunLogs: "read",
  GetGraph: "read",
  ListTriggers: "read",
  ListJobRuns: "read",
  GetJobRun: "read",
};

export function scopeNeeded(method: string): Scope {
  return METHOD_SCOPES[method] ?? "admin";
}

/** The caller, once the interceptor let the call through (undefined: an anonymous read). */
export const PRINCIPAL = createContextKey<Principal | undefined>(undefined, { description: "databuild principal" });

/** The requester recorded for a call: the token's name; an anonymous call has none (only reads may be anonymous). */
export function principalOf(context: HandlerContext): Principal {
  const principal = context.values.get(PRINCIPAL);
  if (!principal) throw new ConnectError("this call needs a token", Code.Unauthenticated);
  return principal;
}

export interface AuthOptions {
  readonly tokens: TokenBook;
  readonly allowAnonymousRead: boolean;
}

/** Refuses a call without the scope it needs; else records the principal for the handler. */
export function authInterceptor(options: AuthOptions): Interceptor {
  return (next) => async (req) => {
    const decision = authorize(options.tokens, req.header.get("authorization"), scopeNeeded(req.method.name), {
      allowAnonymousRead: options.allowAnonymousRead,
    });
    if (!decision.ok)
      throw new ConnectError(
        decision.message,
        decision.code === "unauthenticated" ? Code.Unauthenticated : Code.PermissionDenied,
      );
    req.contextValues.set(PRINCIPAL, decision.principal);
    return next(req);
  };
}
