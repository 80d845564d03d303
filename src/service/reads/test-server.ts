/**
 * @module For tests: the read RPCs mounted on a real HTTP server (Connect,
 * gRPC and gRPC-Web over HTTP/1.1 on 127.0.0.1, a free port), with the
 * generated client. The host team's startService serves the same handlers
 * with the write RPCs and auth.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, type Client, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { DatabuildService } from "../../gen/databuild_pb.ts";

export interface TestServer {
  readonly url: string;
  /** Connect with JSON bodies (the CLI's `--server` client). */
  readonly client: Client<typeof DatabuildService>;
  /** Connect with binary bodies (the dashboard's, and the bench's). */
  readonly binaryClient: Client<typeof DatabuildService>;
  close(): Promise<void>;
}

export async function startTestServer(handlers: Partial<ServiceImpl<typeof DatabuildService>>): Promise<TestServer> {
  const server: Server = createServer(
    connectNodeAdapter({ routes: (router) => router.service(DatabuildService, handlers) }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createClient(DatabuildService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
  const binaryClient = createClient(
    DatabuildService,
    createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat: true }),
  );
  return {
    url,
    client,
    binaryClient,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
