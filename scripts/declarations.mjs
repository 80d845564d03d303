// Emits the type declarations of databuild's public API (src/index.ts and
// what it reaches) into dist/types/, for projects that install databuild:
// their `tsc` reads plain .d.ts files and needs no option of ours
// (docs/gsl.md, "Installing databuild in your project"). Runs with the
// bundle on `npm ci` / `npm install` and `npm pack` (the `prepare` script).
// Inside this repository, `tsc` reads src/index.ts itself (the
// "databuild-source" export condition), so dist/types is never needed here.
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const TYPES_DIR = join(ROOT, "dist", "types");
const ENTRY = join(ROOT, "src", "index.ts");

/**
 * Our sources import with `.ts` extensions; declarations name the `.js`
 * files a consumer's resolver maps back to `.d.ts`, as every TypeScript
 * version with node16/nodenext or bundler resolution understands.
 */
export function rewriteSpecifiers(text) {
  return text.replace(/((?:from|import)\s*\(?\s*)(["'])(\.{1,2}\/[^"']*?)\.ts\2/g, "$1$2$3.js$2");
}

/**
 * Writes dist/types/ file by file (temp file + rename each), then removes
 * files no longer emitted, so processes that run this at the same time
 * (`npm pack` while a linked project's `npm install` runs `prepare`) and
 * readers never see half a file.
 */
export async function emitDeclarations() {
  const { default: ts } = await import("typescript");
  const configFile = join(ROOT, "tsconfig.json");
  const { config, error } = ts.readConfigFile(configFile, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, "\n"));
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT, undefined, configFile);
  const program = ts.createProgram([ENTRY], {
    ...options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    declarationMap: false,
    sourceMap: false,
    rootDir: join(ROOT, "src"),
    declarationDir: TYPES_DIR,
    outDir: undefined,
  });
  const outputs = new Map();
  // Only declaration-emit problems stop us; type errors are `npm run typecheck`'s to report.
  const { diagnostics, emitSkipped } = program.emit(
    undefined,
    (file, text) => outputs.set(file, rewriteSpecifiers(text)),
    undefined,
    true,
  );
  if (emitSkipped || diagnostics.length > 0 || !outputs.has(join(TYPES_DIR, "index.d.ts"))) {
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => "\n" };
    throw new Error(`declarations: could not emit dist/types\n${ts.formatDiagnostics(diagnostics, host)}`);
  }
  for (const [file, text] of outputs) {
    mkdirSync(dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, text);
    renameSync(temp, file);
  }
  const stale = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) stale(path);
      else if (!outputs.has(path) && !entry.name.endsWith(".tmp")) rmSync(path, { force: true });
    }
  };
  stale(TYPES_DIR);
  return [...outputs.keys()].map((file) => relative(TYPES_DIR, file)).sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await emitDeclarations();
