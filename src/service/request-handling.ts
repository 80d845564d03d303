/**
 * @module Around every request: one JSON log line and one metric sample per
 * RPC (method, code, duration, principal), also for those refused before
 * any handler ran (a body over the limit, undecodable bytes); refusing new
 * calls while shutting down; and the two plain HTTP routes, `/healthz`
 * (200 once serving, 503 while shutting down) and `/metrics`.
 */
import type http from "node:http";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  type ContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import { PRINCIPAL } from "./auth.ts";
import type { ServiceMetrics } from "./metrics.ts";
import type { RequestHandler } from "./listener.ts";
import type { ServiceLogger } from "./service-logger.ts";

type NodeRequest = Parameters<RequestHandler>[0];
type NodeResponse = Parameters<RequestHandler>[1];

/** Per request: whether an interceptor logged it already (else the HTTP layer does, once it is answered). */
interface RequestMark {
  logged: boolean;
}

const MARK = createContextKey<RequestMark | undefined>(undefined, { description: "databuild request mark" });
const marks = new WeakMap<NodeRequest, RequestMark>();

/** The status code name as Connect spells it ("invalid_argument"). */
function codeName(code: Code | undefined): string {
  if (code === undefined) return "ok";
  return Code[code]!.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

export const trackRequests = {
  contextValues(req: NodeRequest): ContextValues {
    const values = createContextValues();
    const mark: RequestMark = { logged: false };
    marks.set(req, mark);
    values.set(MARK, mark);
    return values;
  },

  /** Wraps the adapter: logs and counts the RPCs no interceptor saw (refused while reading the request). */
  handler(adapter: RequestHandler, logger: ServiceLogger, metrics: ServiceMetrics): RequestHandler {
    return (req, res) => {
      const started = performance.now();
      res.once("finish", () => {
        const mark = marks.get(req);
        if (!mark || mark.logged) return;
        const method = (req.url ?? "").split("?")[0]!.split("/").pop() ?? "";
        const code = codeFromResponse(res);
        const seconds = (performance.now() - started) / 1000;
        metrics.observeRequest(method, code, seconds);
        logger.info({ event: "request", method, code, durationMs: Math.round(seconds * 1e4) / 10 }, "request");
      });
      adapter(req, res);
    };
  },
};

/** The code of an answer refused before its handler: the gRPC status header, else Connect's HTTP status. */
function codeFromResponse(res: NodeResponse): string {
  const grpc = res.getHeader("grpc-status");
  if (grpc !== undefined) return codeName(Number(grpc) === 0 ? undefined : (Number(grpc) as Code));
  const byHttp: Record<number, string> = {
    200: "ok",
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    408: "deadline_exceeded",
    409: "already_exists",
    412: "failed_precondition",
    413: "resource_exhausted",
    415: "internal",
    429: "resource_exhausted",
    501: "unimplemented",
    503: "unavailable",
  };
  return byHttp[res.statusCode] ?? `http_${res.statusCode}`;
}

/** Logs and counts each RPC once its answer (or, for a stream, its last message) is out. */
export function requestLogInterceptor(logger: ServiceLogger, metrics: ServiceMetrics): Interceptor {
  return (next) => async (req) => {
    const mark = req.contextValues.get(MARK);
    if (mark) mark.logged = true;
    const method = req.method.name;
    const started = performance.now();
    const done = (error: unknown) => {
      const code = error === undefined ? "ok" : codeName(ConnectError.from(error).code);
      const seconds = (performance.now() - started) / 1000;
      metrics.observeRequest(method, code, seconds);
      const principal = req.contextValues.get(PRINCIPAL)?.name;
      const fields = { event: "request", method, code, durationMs: Math.round(seconds * 1e4) / 10, principal };
      if (error === undefined) logger.info(fields, "request");
      else logger.info({ ...fields, message: ConnectError.from(error).rawMessage }, "request refused or failed");
    };
    let response;
    try {
      response = await next(req);
    } catch (error) {
      done(error);
      throw error;
    }
    if (!response.stream) {
      done(undefined);
      return response;
    }
    const messages = response.message;
    return {
      ...response,
      message: (async function* () {
        try {
          yield* messages;
          done(undefined);
        } catch (error) {
          done(error);
          throw error;
        }
      })(),
    };
  };
}

/** While shutting down, new calls are refused (`unavailable`: a client retries on another replica). */
export function drainingInterceptor(state: { readonly draining: boolean }): Interceptor {
  return (next) => async (req) => {
    if (state.draining) throw new ConnectError("the service is shutting down; try another replica", Code.Unavailable);
    return next(req);
  };
}

/** `/healthz`, `/metrics`, then the extra routes (the dashboard); anything else is 404. */
export function httpFallback(deps: {
  state: { readonly draining: boolean };
  metrics: ServiceMetrics;
  routes?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}) {
  return (req: NodeRequest, res: NodeResponse) => {
    const path = (req.url ?? "").split("?")[0];
    const reply = (status: number, type: string, body: string) => {
      (res as unknown as http.ServerResponse).writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (path === "/healthz") {
      if (deps.state.draining) reply(503, "text/plain", "shutting down\n");
      else reply(200, "text/plain", "ok\n");
      return;
    }
    if (path === "/metrics" && (req.method === "GET" || req.method === "HEAD")) {
      deps.metrics.registry
        .metrics()
        .then((text) => reply(200, deps.metrics.registry.contentType, text))
        .catch((error: unknown) => reply(500, "text/plain", `metrics failed: ${(error as Error).message}\n`));
      return;
    }
    if (deps.routes?.(req as http.IncomingMessage, res as unknown as http.ServerResponse)) return;
    reply(404, "text/plain", `not found: ${path}; the API is under /databuild.v1.DatabuildService/\n`);
  };
}
