/**
 * @module Serves the dashboard's built files (dist/dashboard/, written by
 * `npm run build:dashboard`, which `npm install` runs): the app's routes
 * get index.html (the app routes in the browser), /assets/* the hashed
 * files, cached for good. Anything else is left to the caller.
 */
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import type http from "node:http";
import type http2 from "node:http2";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The SPA's routes (SPEC 3.10): each is a URL someone may share. */
const APP_ROUTES = /^\/(?:$|partitions(?:\/.*)?$|builds(?:\/[^/]+)?$|job-runs\/[^/]+$|jobs$|triggers$)/;

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
};

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** The package's root: the nearest folder above this module with a package.json (from src/ or the bundle in dist/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export const DEFAULT_DASHBOARD_DIR = join(packageRoot(), "dist", "dashboard");

export interface DashboardOptions {
  /** Where the built app is (default dist/dashboard/ in the package). */
  readonly dir?: string;
}

/**
 * Returns a handler that answers GET and HEAD of the dashboard's URLs and
 * returns true, or returns false (without touching `res`) for any other
 * request. index.html is read once per change of the file, so a rebuild
 * shows without a restart.
 */
export function dashboardHandler(options: DashboardOptions = {}): (req: Request, res: Response) => boolean {
  const dir = options.dir ?? DEFAULT_DASHBOARD_DIR;
  const assets = join(dir, "assets");
  let index: { mtimeMs: number; body: Buffer } | undefined;
  const indexHtml = (): Buffer | undefined => {
    const stat = statSync(join(dir, "index.html"), { throwIfNoEntry: false });
    if (!stat) return undefined;
    if (!index || index.mtimeMs !== stat.mtimeMs)
      index = { mtimeMs: stat.mtimeMs, body: readFileSync(join(dir, "index.html")) };
    return index.body;
  };
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const path = (req.url ?? "/").split("?")[0]!;
    if (path.startsWith("/assets/")) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(path.slice("/assets/".length));
      } catch {
        return false;
      }
      const file = normalize(join(assets, decoded));
      if (!file.startsWith(assets + sep)) return false;
      const stat = statSync(file, { throwIfNoEntry: false });
      if (!stat?.isFile()) {
        if (!indexHtml()) return missing(res, dir);
        send(res, 404, "text/plain; charset=utf-8", `No such dashboard asset: ${path}\n`);
        return true;
      }
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "content-length": String(stat.size),
        // Vite puts a content hash in every asset's name: a new build has new names.
        "cache-control": "public, max-age=31536000, immutable",
      });
      if (req.method === "HEAD") res.end();
      else createReadStream(file).pipe(res as http.ServerResponse);
      return true;
    }
    if (!APP_ROUTES.test(path)) return false;
    const body = indexHtml();
    if (!body) return missing(res, dir);
    res.writeHead(200, {
      "content-type": TYPES[".html"]!,
      "content-length": String(body.length),
      // Always revalidated: it names the current build's assets.
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
    });
    if (req.method === "HEAD") res.end();
    else res.end(body);
    return true;
  };
}

function send(res: Response, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "content-length": String(Buffer.byteLength(body)) });
  res.end(body);
}

function missing(res: Response, dir: string): true {
  const body = `<!doctype html><meta charset="utf-8"><title>databuild: dashboard not built</title>
<h1>The dashboard is not built</h1>
<p>Its files are missing from <code>${escapeHtml(dir)}</code>. Build them with
<code>npm run build:dashboard</code> (in the databuild package; <code>npm install</code> does it too), then reload.</p>
<p>The API is served as usual.</p>\n`;
  send(res, 503, "text/html; charset=utf-8", body);
  return true;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

const defaultHandler = dashboardHandler();

/** The dashboard at `/` of a Node HTTP server: true when it answered the request. */
export function serveDashboard(req: Request, res: Response): boolean {
  return defaultHandler(req, res);
}
