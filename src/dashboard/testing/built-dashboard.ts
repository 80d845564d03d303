/**
 * @module For the dashboard's tests: dist/dashboard/ as `npm install`
 * leaves it, rebuilt first when a source of the app is newer than it (so
 * a test never runs yesterday's app).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../testing/run-cli.ts";
import { DEFAULT_DASHBOARD_DIR } from "../serve-dashboard.ts";

const SOURCES = ["src/dashboard/app", "src/dashboard/vite.config.ts", "src/gen/databuild_pb.ts"];

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Returns the built dashboard's folder, building it if it is missing or older than its sources. */
export function ensureDashboardBuilt(): string {
  const built = statSync(join(DEFAULT_DASHBOARD_DIR, "index.html"), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = Math.max(...SOURCES.map((path) => newestMtime(join(REPO_ROOT, path))));
  if (built < sources) {
    execFileSync(
      join(REPO_ROOT, "node_modules", ".bin", "vite"),
      ["build", "--config", "src/dashboard/vite.config.ts"],
      {
        cwd: REPO_ROOT,
        // Under vitest NODE_ENV is "test", which would build React's development variant.
        env: { ...process.env, NODE_ENV: "production" },
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
  }
  return DEFAULT_DASHBOARD_DIR;
}
