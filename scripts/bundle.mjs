// Bundles databuild's TypeScript sources into dist/ with esbuild, so the CLI
// starts without compiling ~100 modules through loader hooks on every run.
// Runs on `npm ci` / `npm install` (the `prepare` script), and again from
// bin/databuild.js whenever a source file is newer than the bundle, so dist/
// is never stale and never needs remembering.
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const ENTRIES = {
  cli: "src/cli/main.ts",
  index: "src/index.ts",
  // In-process jobs run on worker threads started from this file (src/wrapper/isolated/).
  "function-worker": "src/wrapper/isolated/function-worker.ts",
};
const SOURCES = ["src", "proto", "package.json"];

/** Newest modification time (ms) under the source folders, tests excluded. */
function newestSource() {
  let newest = 0;
  const walk = (path) => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) if (!name.endsWith(".test.ts")) walk(join(path, name));
    } else newest = Math.max(newest, stat.mtimeMs);
  };
  for (const source of SOURCES) walk(join(ROOT, source));
  return newest;
}

/** True when every bundle exists and is newer than every source file. */
export function bundleIsFresh() {
  try {
    const built = Math.min(...Object.keys(ENTRIES).map((name) => statSync(join(ROOT, "dist", `${name}.mjs`)).mtimeMs));
    return built >= newestSource();
  } catch {
    return false;
  }
}

/**
 * Writes dist/ atomically (temp file + rename per output), so processes that
 * start while another rebuilds never import half a file.
 */
export async function bundle() {
  const { build } = await import("esbuild");
  const result = await build({
    write: false,
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, path]) => [name, join(ROOT, path)])),
    outdir: join(ROOT, "dist"),
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // Dependencies stay in node_modules (better-sqlite3 is native).
    packages: "external",
    sourcemap: "linked",
    logLevel: "warning",
  });
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  // Maps first: a fresh .mjs must never point at an old map.
  const files = [...result.outputFiles].sort(
    (a, b) => Number(b.path.endsWith(".map")) - Number(a.path.endsWith(".map")),
  );
  for (const file of files) {
    const temp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temp, file.contents);
    renameSync(temp, file.path);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundle();
