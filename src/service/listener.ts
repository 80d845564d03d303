/**
 * @module One port for every protocol (SPEC 3.7): Connect over HTTP/1.1,
 * gRPC over HTTP/2 and gRPC-Web. With TLS, ALPN picks the protocol
 * (`http2.createSecureServer({ allowHTTP1 })`). In plain text Node has no
 * such fallback (`http2.createServer` speaks only h2c, and refuses HTTP/1.1
 * clients), so a small dispatcher peeks at each connection's first bytes: a
 * client speaking h2c starts with the HTTP/2 preface (`PRI * HTTP/2.0`),
 * which no HTTP/1.1 request starts with.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";

/** What Connect's Node adapter is: a request listener for HTTP/1.1 and HTTP/2 alike. */
export type RequestHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly handler: RequestHandler;
}

export interface Listener {
  /** The port bound (the one asked for, or the one the system chose for 0). */
  readonly port: number;
  /** Stops accepting connections; resolves once the open ones are closed (`force`: closed at once). */
  close(force?: boolean): Promise<void>;
}

/** The first bytes of every HTTP/2 connection in plain text (RFC 9113 3.4); "PRI" already tells. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const PEEK_BYTES = 3;
/** How long an idle HTTP/1.1 connection stays open (longer than common load balancers' 60 s). */
const KEEP_ALIVE_MS = 65_000;

export async function listen(options: ListenOptions): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  let outer: net.Server;
  const onSession = (session: http2.Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  };
  if (options.tls) {
    const secure = http2.createSecureServer({ ...options.tls, allowHTTP1: true }, options.handler as never);
    secure.on("session", onSession);
    outer = secure;
  } else {
    const h1 = http.createServer(options.handler as never);
    // Node closes an idle keep-alive connection after 5 s, racing a client that sends on it just then
    // (ECONNRESET under load). Clients and proxies expect servers to wait longer than they do.
    h1.keepAliveTimeout = KEEP_ALIVE_MS;
    h1.headersTimeout = KEEP_ALIVE_MS + 1_000;
    const h2 = http2.createServer({}, options.handler as never);
    h2.on("session", onSession);
    outer = net.createServer((socket) => dispatch(socket, h1, h2));
  }
  outer.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    outer.once("error", reject);
    outer.listen(options.port, options.host, () => {
      outer.off("error", reject);
      resolve();
    });
  });
  const port = (outer.address() as net.AddressInfo).port;
  return {
    port,
    close: (force = false) =>
      new Promise<void>((resolve) => {
        outer.close(() => resolve());
        for (const session of sessions) {
          if (force) session.destroy();
          else session.close();
        }
        // HTTP/1.1 keep-alive connections idle between requests would hold close() open.
        for (const socket of sockets)
          if (force || !(socket as { _httpMessage?: unknown })._httpMessage) socket.destroy();
        if (!force) setTimeout(() => sockets.forEach((s) => s.destroy()), 2_000).unref();
      }),
  };
}

/** Hands `socket` to the HTTP/2 server if it opens with the preface, else to the HTTP/1.1 one. */
function dispatch(socket: net.Socket, h1: http.Server, h2: http2.Http2Server): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PEEK_BYTES);
    const h2c = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (seen.length < PEEK_BYTES && h2c) return;
    socket.off("data", onData);
    socket.pause();
    socket.unshift(seen);
    // The HTTP/2 session reads what is buffered on the next tick (it must stay paused till then);
    // the HTTP/1.1 parser waits for the socket to flow again.
    if (h2c) h2.emit("connection", socket);
    else {
      h1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
}
