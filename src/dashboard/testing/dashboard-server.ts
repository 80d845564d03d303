/**
 * @module For the dashboard's tests: a real service (startService) on a
 * real SQLite log with the dashboard in front of it, as `databuild serve`
 * will mount it: serveDashboard answers the app's URLs, GetPartitionGrid is
 * answered from the service's live log, everything else goes to the
 * service unchanged (so auth, streams and writes are the service's own).
 * Once startService mounts both itself, this front is only a pass-through.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { DatabuildService } from "../../gen/databuild_pb.ts";
import type { Service } from "../../service/index.ts";
import { dashboardHandler, type DashboardOptions } from "../serve-dashboard.ts";
import { dashboardRpcs } from "../rpc/index.ts";

export interface DashboardFront {
  readonly url: string;
  close(): Promise<void>;
}

export async function startDashboardFront(service: Service, options: DashboardOptions = {}): Promise<DashboardFront> {
  const serve = dashboardHandler(options);
  const upstream = new URL(service.url);
  const proxy = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    res.on("close", () => forward.destroy());
    req.pipe(forward);
  };
  const grid = dashboardRpcs({ live: service.live }).getPartitionGrid!;
  const adapter = connectNodeAdapter({
    routes: (router) => router.rpc(DatabuildService.method.getPartitionGrid, grid),
    fallback: (req, res) => {
      const [request, response] = [req as http.IncomingMessage, res as http.ServerResponse];
      if (!serve(request, response)) proxy(request, response);
    },
  });
  const server = http.createServer(adapter);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
