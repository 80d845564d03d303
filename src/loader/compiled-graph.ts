/**
 * @module A TypeScript graph module compiled once and kept: esbuild bundles
 * the graph file with the local files it imports (packages stay imports)
 * into one ES module under `.databuild/graph-cache/` beside it, and later
 * loads import that file directly. That skips tsx's loader thread (starting
 * it, compiling, and a round trip per module resolved and loaded: about
 * 0.25 s of a command that needs the graph). The cache is fresh while every
 * file that went into it, the package.json that makes it an ES module, the
 * tsconfig.json nearest each file and the package.json of every package it imports
 * have the mtime, ctime and size they had before the compile read them (as
 * scripts/bundle.mjs decides for databuild's own bundle).
 *
 * Only where the result is the module tsx would give: an ES module graph
 * (.mts, or .ts in a `"type": "module"` package), with source maps on (so
 * stack frames, and the file:line a define* helper records, name the
 * source), no `import.meta` left after the file's own url, dirname and
 * filename are put in, no tsconfig.json that `extends` another (esbuild's
 * transform is handed one file) and a writable folder. Otherwise, and whenever
 * anything here fails before the module runs, `compiledGraphUrl` answers
 * undefined and the graph loads through tsx as before.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { isBuiltin } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** Changes whenever what is compiled, or how, changes: old caches are then rebuilt. */
const FORMAT = 2;

/** Marks esbuild's own resolution of a package, which the plugin leaves alone. */
const RESOLVING = Symbol("resolving");
const TYPESCRIPT = /\.(m|c)?tsx?$/;

type FileStat = [path: string, mtimeMs: number, ctimeMs: number, size: number];

interface Stamp {
  readonly format: number;
  readonly esbuild: string;
  readonly node: string;
  /** The files compiled, and those that decide how (package.json, tsconfig.json), as they were. */
  readonly inputs: FileStat[];
}

function stat(path: string): FileStat | undefined {
  const s = statSync(path, { throwIfNoEntry: false });
  return s && [path, s.mtimeMs, s.ctimeMs, s.size];
}

/** The nearest `name` from `dir` up, or undefined. */
function nearest(dir: string, name: string): string | undefined {
  for (let at = dir; ;) {
    const file = join(at, name);
    if (statSync(file, { throwIfNoEntry: false })?.isFile()) return file;
    const up = dirname(at);
    if (up === at) return undefined;
    at = up;
  }
}

/** The package.json whose `"type": "module"` makes `file` an ES module, or undefined (not one). */
function esModuleScope(file: string): string | undefined | false {
  if (file.endsWith(".mts")) return nearest(dirname(file), "package.json") ?? false;
  const pkg = nearest(dirname(file), "package.json");
  if (!pkg) return undefined;
  try {
    return (JSON.parse(readFileSync(pkg, "utf8")) as { type?: unknown }).type === "module" ? pkg : undefined;
  } catch {
    return undefined;
  }
}

function cachePaths(file: string): { module: string; stamp: string } {
  const key = createHash("sha256").update(file).digest("hex").slice(0, 16);
  const dir = join(dirname(file), ".databuild", "graph-cache");
  const name = `${basename(file).replace(/\.[^.]+$/, "")}-${key}`;
  return { module: join(dir, `${name}.mjs`), stamp: join(dir, `${name}.json`) };
}

function isFresh(stampFile: string, moduleFile: string): boolean {
  try {
    const stamp = JSON.parse(readFileSync(stampFile, "utf8")) as Stamp;
    if (stamp.format !== FORMAT || stamp.node !== process.version || stamp.inputs.length === 0) return false;
    for (const [path, mtime, ctime, size] of stamp.inputs) {
      const now = stat(path);
      if (!now || now[1] !== mtime || now[2] !== ctime || now[3] !== size) return false;
    }
    return statSync(moduleFile, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/** Writes `text` to `path` whole or not at all (other processes may be loading the same graph). */
function writeWhole(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

/**
 * The file: URL of `file` (an absolute .ts/.mts path) compiled, compiling it
 * first when the cache is missing or stale; undefined when it must load
 * through tsx instead (see the module comment). Never throws.
 */
export async function compiledGraphUrl(file: string): Promise<string | undefined> {
  try {
    if (!process.sourceMapsEnabled) return undefined;
    const scope = esModuleScope(file);
    if (scope === undefined) return undefined;
    const paths = cachePaths(file);
    if (isFresh(paths.stamp, paths.module)) return pathToFileURL(paths.module).href;
    return await compile(file, scope || undefined, paths);
  } catch {
    return undefined;
  }
}

async function compile(
  file: string,
  packageJson: string | undefined,
  paths: { module: string; stamp: string },
): Promise<string | undefined> {
  const esbuild = await import("esbuild");
  const tsconfig = nearest(dirname(file), "tsconfig.json");
  // Stats taken before esbuild reads anything: an edit made during the compile makes the cache stale.
  const decided = [packageJson, tsconfig].filter((p): p is string => p !== undefined);
  const before = new Map<string, FileStat | undefined>();
  const statBefore = (path: string) => {
    if (!before.has(path)) before.set(path, stat(path));
  };
  for (const path of [file, ...decided]) statBefore(path);
  const packages = new Set<string>();
  const tsconfigs = new Set<string>();
  const result = await esbuild.build({
    entryPoints: [file],
    bundle: true,
    // Only the conditions Node's resolver uses (esbuild would add "module").
    conditions: [],
    mainFields: ["main"],
    platform: "node",
    format: "esm",
    target: `node${process.versions.node}`,
    write: false,
    outfile: paths.module,
    sourcemap: "inline",
    metafile: true,
    logLevel: "silent",
    plugins: [
      {
        name: "databuild-graph-file-meta",
        setup(build) {
          // A package stays an import, of the file Node would resolve from the file importing it (not
          // from the cache folder, which has no node_modules of its own to resolve from).
          build.onResolve({ filter: /^[^./]/ }, async (args) => {
            if (args.pluginData === RESOLVING || isBuiltin(args.path)) return undefined;
            const found = await build.resolve(args.path, {
              kind: args.kind,
              importer: args.importer,
              resolveDir: args.resolveDir,
              pluginData: RESOLVING,
            });
            if (found.errors.length > 0 || !found.path) throw new Unsupported(`cannot resolve ${args.path}`);
            // TypeScript (a tsconfig "paths" alias, a package of sources) is compiled in, as tsx compiles it.
            if (TYPESCRIPT.test(found.path)) return { path: found.path };
            // Its package.json is stamped: an update of the package (another file to import) recompiles.
            const pkg = nearest(dirname(found.path), "package.json");
            if (pkg) {
              statBefore(pkg);
              packages.add(pkg);
            }
            return { path: pathToFileURL(found.path).href, external: true };
          });
          // Each local file keeps its own import.meta.url, dirname and filename, as it has under tsx.
          build.onLoad({ filter: /\.(m|c)?[jt]sx?$/ }, async (args) => {
            statBefore(args.path);
            const source = readFileSync(args.path, "utf8");
            const url = pathToFileURL(args.path).href;
            const loader = TYPESCRIPT.test(args.path) ? (args.path.endsWith("x") ? "tsx" : "ts") : "js";
            const transformed = await esbuild.transform(source, {
              loader,
              format: "esm",
              sourcefile: args.path,
              sourcemap: "inline",
              tsconfigRaw: tsconfigRawFor(args.path, (tsconfig) => {
                statBefore(tsconfig);
                tsconfigs.add(tsconfig);
              }),
              define: {
                "import.meta.url": JSON.stringify(url),
                "import.meta.dirname": JSON.stringify(dirname(args.path)),
                "import.meta.filename": JSON.stringify(args.path),
              },
            });
            return { contents: transformed.code, loader: "js" };
          });
        },
      },
    ],
  });
  const output = result.outputFiles.find((f) => f.path.endsWith(".mjs"));
  if (!output || result.errors.length > 0) return undefined;
  // import.meta.resolve and the like would answer for the cache file, not the graph's.
  if (/\bimport\.meta\b/.test(output.text.replace(/\/\/# sourceMappingURL=.*$/m, ""))) return undefined;
  const inputs = Object.keys(result.metafile.inputs).map((input) => resolve(input));
  for (const input of inputs) statBefore(input);
  const stamped = [...new Set([...inputs, ...decided, ...packages, ...tsconfigs])].map((path) => before.get(path));
  if (stamped.some((s) => s === undefined)) return undefined;
  mkdirSync(dirname(paths.module), { recursive: true });
  writeWhole(paths.module, output.text);
  const stamp: Stamp = {
    format: FORMAT,
    esbuild: esbuild.version,
    node: process.version,
    inputs: stamped as FileStat[],
  };
  writeWhole(paths.stamp, JSON.stringify(stamp));
  return pathToFileURL(paths.module).href;
}

/**
 * esbuild's transform reads no tsconfig.json itself: it is handed the one
 * nearest `path`. One that extends another cannot be handed over whole:
 * then the graph loads through tsx (`Unsupported`).
 */
function tsconfigRawFor(path: string, found: (tsconfig: string) => void): string | undefined {
  const tsconfig = nearest(dirname(path), "tsconfig.json");
  if (!tsconfig) return undefined;
  found(tsconfig);
  // tsconfig.json may hold comments and trailing commas: esbuild parses it leniently itself.
  const text = readFileSync(tsconfig, "utf8");
  if (/"extends"\s*:/.test(text)) throw new Unsupported(`${tsconfig} extends another tsconfig`);
  return text;
}

class Unsupported extends Error {}
