// Bundles databuild's TypeScript sources into dist/ with esbuild, so the CLI
// starts without compiling ~100 modules through loader hooks on every run.
// Runs on `npm ci` / `npm install` (the `prepare` script), and again from
// bin/databuild.js whenever a file the bundle was made from changed since,
// so dist/ is never stale and never needs remembering.
//
// Freshness is decided against a stamp the bundler writes last
// (dist/bundle-stamp.json): every file esbuild read (its metafile inputs;
// for a bundled dependency, its package.json), plus package.json,
// tsconfig.json and this script, each with the mtime, ctime and size it had
// *before* the build read it. The bundle is fresh when every one of them
// still has exactly those: an edit (in place or by rename), a deletion, a
// file restored with an old mtime (its ctime still moves), or an edit made
// while the bundle was being built all count as changes. A new file needs
// no check: it only reaches the bundle through an import, which changes a
// file already listed. So a start stats ~120 files and reads no directory
// (about a millisecond; walking src/ as before cost about as much, but also
// missed deletions, old mtimes and edits made during a build).
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const ENTRIES = {
  cli: "src/cli/main.ts",
  index: "src/index.ts",
  // In-process jobs run on worker threads started from this file (src/wrapper/isolated/).
  "function-worker": "src/wrapper/isolated/function-worker.ts",
};
/**
 * The packaged wrapper's program (`databuild package wrapper`): one CommonJS
 * file with every dependency in it, as Node 20's single-executable
 * applications need (they embed one script that may require only Node's
 * built-in modules). Built beside the entries, stamped like them.
 */
export const PACKAGED_WRAPPER = { name: "wrapper-sea", entry: "src/wrapper/packaged-main.ts", file: "wrapper-sea.cjs" };
/**
 * Entries split into chunks: the CLI imports each command, and heavy
 * dependencies, only when run (src/cli/main.ts), so `databuild --version`
 * loads a few kilobytes. The others stay one self-contained file each: the
 * public API, and the worker (whose stack filter names its own file).
 */
const SPLIT = new Set(["cli"]);
/** Chunks of the split entries, beside them in dist/ (code in them finds files relative to dist/). */
const CHUNK_PREFIX = "cli-";
/** Chunks no longer part of the bundle are deleted once this old: a process started before a rebuild may still import them. */
const OLD_CHUNK_MS = 24 * 3600_000;
/**
 * Dependencies bundled in (tree-shaken into a few chunks) rather than
 * loaded from node_modules: every command needs them, and Node loads
 * @bufbuild/protobuf's ~80 modules far slower than the few hundred lines
 * databuild uses. Everything else stays in node_modules: better-sqlite3 is
 * native, tsx and esbuild find their own files, and the rest load only with
 * the commands that use them.
 */
export const BUNDLED_PACKAGES = new Set(["@bufbuild/protobuf", "commander"]);
/** Bundled CommonJS (commander) requires Node's built-in modules through this. */
const REQUIRE_SHIM =
  'import { createRequire as __databuildRequire } from "node:module"; const require = __databuildRequire(import.meta.url);';
const STAMP = join(ROOT, "dist", "bundle-stamp.json");
const STAMP_FORMAT = 1;
/** Read by the build without being an input esbuild reports. */
const ALSO_STAMPED = ["package.json", "tsconfig.json", "scripts/bundle.mjs"];

/** [mtimeMs, ctimeMs, size] of a file, or undefined if it is gone. */
function fileStat(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat && [stat.mtimeMs, stat.ctimeMs, stat.size];
}

/**
 * True when the stamp exists, every file it lists is unchanged and every
 * output exists. Never throws.
 */
export function bundleIsFresh() {
  try {
    const stamp = JSON.parse(readFileSync(STAMP, "utf8"));
    if (stamp.format !== STAMP_FORMAT) return false;
    for (const [path, mtime, ctime, size] of stamp.inputs) {
      const now = fileStat(join(ROOT, path));
      if (!now || now[0] !== mtime || now[1] !== ctime || now[2] !== size) return false;
    }
    for (const output of stamp.outputs) if (!fileStat(join(ROOT, "dist", output))) return false;
    return true;
  } catch {
    return false;
  }
}

/** The stats of every file under `dirs` (relative to ROOT, "/"-separated), before the build reads them. */
function statTree(dirs) {
  const stats = new Map();
  const walk = (dir) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) stats.set(path, fileStat(join(ROOT, path)));
    }
  };
  for (const dir of dirs) walk(dir);
  for (const path of ALSO_STAMPED) stats.set(path, fileStat(join(ROOT, path)));
  return stats;
}

/**
 * Writes dist/ atomically (temp file + rename per output; maps, then
 * chunks, then entries, then the stamp), so processes that start while
 * another rebuilds never import half a file or a chunk that is not there
 * yet. Chunk names carry a content hash: a rebuild never changes a chunk
 * a running process may still import. Chunks of earlier builds are deleted
 * once `keepOldChunksMs` old (a day when bin/databuild.js rebuilds; at
 * once on `npm ci` / `npm pack`, so a tarball holds only this build).
 */
export async function bundle({ keepOldChunksMs = OLD_CHUNK_MS } = {}) {
  const { build } = await import("esbuild");
  const before = statTree(["src"]);
  const options = (entries, splitting) => ({
    write: false,
    metafile: true,
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(entries.map((name) => [name, join(ROOT, ENTRIES[name])])),
    outdir: join(ROOT, "dist"),
    outExtension: { ".js": ".mjs" },
    splitting,
    chunkNames: `${CHUNK_PREFIX}[name]-[hash]`,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    plugins: [keepInNodeModules],
    banner: { js: REQUIRE_SHIM },
    // Less to read and parse at every start; names stay (stack traces, and the source maps map them).
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: "linked",
    // Stack traces need the mappings, not a copy of every source.
    sourcesContent: false,
    logLevel: "warning",
  });
  const names = Object.keys(ENTRIES);
  const packagedWrapper = {
    write: false,
    metafile: true,
    absWorkingDir: ROOT,
    entryPoints: { [PACKAGED_WRAPPER.name]: join(ROOT, PACKAGED_WRAPPER.entry) },
    outdir: join(ROOT, "dist"),
    outExtension: { ".js": ".cjs" },
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: "warning",
    // The one import.meta (the spawner's locate) is never reached: the packaged wrapper spawns in process.
    logOverride: { "empty-import-meta": "silent" },
  };
  const results = await Promise.all([
    build(packagedWrapper),
    build(
      options(
        names.filter((name) => SPLIT.has(name)),
        true,
      ),
    ),
    build(
      options(
        names.filter((name) => !SPLIT.has(name)),
        false,
      ),
    ),
  ]);
  const outputs = results.flatMap((result) => result.outputFiles);
  const entryFiles = new Set(names.map((name) => join(ROOT, "dist", `${name}.mjs`)));
  const rank = (path) => (path.endsWith(".map") ? 0 : entryFiles.has(path) ? 2 : 1);
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  for (const file of outputs.sort((a, b) => rank(a.path) - rank(b.path))) {
    const temp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temp, file.contents);
    renameSync(temp, file.path);
  }
  const written = new Set(outputs.map((file) => relative(join(ROOT, "dist"), file.path)));
  removeOldChunks(written, keepOldChunksMs);
  // A bundled package is stamped by its package.json (rewritten whenever npm installs another
  // version). Paths are relative to ROOT; a symlinked node_modules resolves outside it.
  const inputs = new Set(ALSO_STAMPED);
  for (const result of results)
    for (const path of Object.keys(result.metafile.inputs).map((p) => p.split(sep).join("/"))) {
      const inPackage = /^(.*?node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(path);
      inputs.add(inPackage ? `${inPackage[1]}/package.json` : path);
    }
  const stamp = {
    format: STAMP_FORMAT,
    inputs: [...inputs]
      .sort()
      // Files outside src/ (the bundled packages' package.json) are stated now.
      .map((path) => [path, ...(before.get(path) ?? fileStat(join(ROOT, path)) ?? [0, 0, -1])]),
    outputs: [...written].filter((path) => !path.endsWith(".map")).sort(),
  };
  const temp = `${STAMP}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(stamp) + "\n");
  renameSync(temp, STAMP);
}

/** Leaves bare imports to Node at run time, except BUNDLED_PACKAGES. */
const keepInNodeModules = {
  name: "keep-in-node-modules",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, ({ path }) => {
      const name = path.startsWith("@") ? path.split("/").slice(0, 2).join("/") : path.split("/")[0];
      return BUNDLED_PACKAGES.has(name) ? undefined : { path, external: true };
    });
  },
};

/** The .mjs files of the current bundle (entries and chunks), relative to dist/. */
export function bundleOutputs() {
  return JSON.parse(readFileSync(STAMP, "utf8")).outputs;
}

/** Deletes chunks of earlier builds that this one did not write, once `maxAgeMs` old. */
function removeOldChunks(written, maxAgeMs) {
  const dist = join(ROOT, "dist");
  for (const name of readdirSync(dist)) {
    if (!name.startsWith(CHUNK_PREFIX) || written.has(name)) continue;
    if (!/\.mjs(\.map)?$/.test(name)) continue;
    try {
      if (Date.now() - statSync(join(dist, name)).mtimeMs >= maxAgeMs) unlinkSync(join(dist, name));
    } catch {
      // Another rebuild removed it first.
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundle({ keepOldChunksMs: 0 });
