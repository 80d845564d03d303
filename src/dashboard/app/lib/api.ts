/**
 * @module The one way the dashboard reaches databuild: the service API
 * (DatabuildService) over the Connect protocol at the page's own origin,
 * with the session's bearer token, if one was entered.
 */
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { DatabuildService } from "../../../gen/databuild_pb.ts";

const TOKEN_KEY = "databuild.token";
const listeners = new Set<() => void>();

export function getToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

/** Keeps the token for this browser session (a tab, until it is closed). */
export function setToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  for (const listener of listeners) listener();
}

export function onTokenChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const bearer: Interceptor = (next) => (request) => {
  const token = getToken();
  if (token) request.header.set("Authorization", `Bearer ${token}`);
  return next(request);
};

export const client = createClient(
  DatabuildService,
  createConnectTransport({ baseUrl: window.location.origin, useBinaryFormat: true, interceptors: [bearer] }),
);

/** What to tell the user about a failed call. */
export function errorMessage(error: unknown): string {
  if (error instanceof ConnectError) {
    if (error.code === Code.Unauthenticated) return `${error.rawMessage} — enter a token (top right).`;
    if (error.code === Code.PermissionDenied) return `${error.rawMessage} — this needs a token with more scope.`;
    return error.rawMessage || Code[error.code];
  }
  return error instanceof Error ? error.message : String(error);
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ConnectError && error.code === Code.NotFound;
}

/**
 * A stream's messages arrive as microtasks: a long stream read without a
 * pause holds clicks and paints until it ends. Await this per message: it
 * lets the page breathe every `every` messages.
 */
export function breathe(count: number, every = 2_000): Promise<void> | undefined {
  return count % every === 0 ? new Promise((resolve) => setTimeout(resolve, 0)) : undefined;
}
