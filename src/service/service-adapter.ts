/**
 * @module The Node request handler for the router: connect-node's
 * `connectNodeAdapter`, with one correction (SPEC 3.7: undecodable bytes are
 * `invalid_argument`). Connect-ES 2.1 answers a request body that is not
 * valid protobuf binary with `internal` ("parse binary: ..."), as if the
 * server had failed, while a JSON body that does not parse is
 * `invalid_argument`; this handler rewrites that one answer, in each
 * protocol's own form, before it is sent.
 */
import { Code, ConnectError, createConnectRouter, type ConnectRouter } from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
  type ConnectNodeAdapterOptions,
} from "@connectrpc/connect-node";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { RequestHandler } from "./listener.ts";

const PARSE_BINARY = "parse binary:";

export function serviceAdapter(
  options: ConnectNodeAdapterOptions & { routes: (router: ConnectRouter) => void },
): RequestHandler {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...options });
  options.routes(router);
  const paths = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    const handler = paths.get((req.url ?? "").split("?", 2)[0] ?? "");
    if (!handler) {
      options.fallback?.(req, res);
      return;
    }
    const uReq = universalRequestFromNodeRequest(req, res, undefined, options.contextValues?.(req));
    handler(uReq)
      .then(undecodableIsInvalidArgument)
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        res.destroy();
      });
  };
}

/** The answer with "parse binary" `internal` errors made `invalid_argument`. */
async function undecodableIsInvalidArgument(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  // gRPC and gRPC-Web: the status is a header (trailers-only) or a trailer.
  for (const headers of [res.header, res.trailer]) {
    if (headers?.get("grpc-status") !== String(Code.Internal)) continue;
    if (decodeURIComponent(headers.get("grpc-message") ?? "").startsWith(PARSE_BINARY))
      headers.set("grpc-status", String(Code.InvalidArgument));
  }
  // Connect unary: an error is a JSON body with an HTTP status.
  if (res.status !== 500 || !res.header?.get("content-type")?.startsWith("application/json") || !res.body) return res;
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const body = { ...res, body: once(bytes) };
  let error: { code?: string; message?: string };
  try {
    error = JSON.parse(bytes.toString("utf8")) as typeof error;
  } catch {
    return body;
  }
  if (error.code !== "internal" || !error.message?.startsWith(PARSE_BINARY)) return body;
  const fixed = Buffer.from(JSON.stringify({ ...error, code: "invalid_argument" }));
  res.header.delete("content-length");
  return { ...res, status: 400, body: once(fixed) };
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
