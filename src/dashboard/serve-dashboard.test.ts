import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../testing/run-cli.ts";
import { dashboardHandler } from "./serve-dashboard.ts";

let built: string;
let servers: http.Server[] = [];

/** A server with the dashboard from `dir` in front of a fallback that answers 418. */
async function serve(dir: string): Promise<string> {
  const handle = dashboardHandler({ dir });
  const server = http.createServer((req, res) => {
    if (!handle(req, res)) res.writeHead(418).end("fallback");
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(() => {
  built = tempDir("databuild-dashboard-");
  mkdirSync(join(built, "assets"));
  writeFileSync(join(built, "index.html"), "<!doctype html><title>app</title>");
  writeFileSync(join(built, "assets", "index-abc.js"), "console.log(1)");
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  servers = [];
});

describe("serveDashboard", () => {
  it("answers the app's URLs with index.html and its assets with long-lived caching", async () => {
    const base = await serve(built);
    for (const path of [
      "/",
      "/partitions?search=a%2F",
      "/partitions/a%2F1",
      "/builds",
      "/builds/x",
      "/job-runs/y",
      "/jobs",
      "/triggers",
    ]) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toContain("text/html");
      expect(res.headers.get("cache-control"), path).toBe("no-cache");
      expect(await res.text(), path).toContain("<title>app</title>");
    }
    const asset = await fetch(`${base}/assets/index-abc.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toContain("text/javascript");
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect(await asset.text()).toBe("console.log(1)");
    expect((await fetch(`${base}/assets/nope.js`)).status).toBe(404);
  });

  it("leaves everything else to the server: the API, /healthz, /metrics, writes, paths outside assets", async () => {
    const base = await serve(built);
    for (const path of [
      "/healthz",
      "/metrics",
      "/databuild.v1.DatabuildService/GetGraph",
      "/assets/..%2F..%2Fetc%2Fpasswd",
      "/other",
    ]) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(418);
    }
    expect((await fetch(`${base}/builds`, { method: "POST" })).status).toBe(418);
  });

  it("says how to build the dashboard when its files are missing (503), and serves once they are built", async () => {
    const empty = tempDir("databuild-dashboard-missing-");
    const base = await serve(empty);
    const res = await fetch(`${base}/partitions`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("npm run build:dashboard");
    writeFileSync(join(empty, "index.html"), "<title>now built</title>");
    expect(await (await fetch(`${base}/partitions`)).text()).toContain("now built");
  });
});
