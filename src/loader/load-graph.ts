/**
 * @module Loads a graph file into the graph model: a TypeScript or JavaScript
 * GSL module (its default export, or an export named `graph`, made by
 * defineGraph) or a manifest (.yaml/.yml/.json). A TypeScript module loads
 * compiled, from the cache compiled-graph.ts keeps, when it can; otherwise
 * through tsx's namespaced `tsImport`, so no build step is needed and a graph
 * file loads the same whether or not its folder has a package.json (the
 * global tsx hook trips over Node 20's require(esm) for .ts files outside an
 * ES module package). Graph modules see their own copy of the GSL helpers,
 * which is why graphs are recognized by shape, never by `instanceof`.
 */
import { dirname, extname } from "node:path";
import { pathToFileURL } from "node:url";

import { GraphDefinitionError, isDatabuildError } from "../core/errors.ts";
import type { Graph } from "../core/graph.ts";
import { isDefinedGraph, toGraph } from "../gsl/define-graph.ts";
import { compiledGraphUrl } from "./compiled-graph.ts";

const MODULE_EXTENSIONS = new Set([".ts", ".mts", ".js", ".mjs"]);
const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Loads `file` (absolute). Throws GraphDefinitionError naming the file. */
export async function loadGraph(file: string): Promise<Graph> {
  const ext = extname(file).toLowerCase();
  // The manifest parser (yaml, zod) is loaded only for a manifest.
  if (MANIFEST_EXTENSIONS.has(ext)) return (await import("../manifest/load-manifest.ts")).loadManifestFile(file);
  if (!MODULE_EXTENSIONS.has(ext)) {
    throw new GraphDefinitionError(`unsupported graph file type "${ext}": use .ts, .js, .yaml, .yml or .json`, file);
  }
  let module: Record<string, unknown>;
  try {
    const typeScript = ext === ".ts" || ext === ".mts";
    // A TypeScript graph compiled before and unchanged since loads as it is (compiled-graph.ts).
    const compiled = typeScript ? await compiledGraphUrl(file) : undefined;
    const url = compiled ?? pathToFileURL(file).href;
    // tsx is loaded only when a TypeScript graph needs it.
    const load = typeScript && !compiled ? (await import("tsx/esm/api")).tsImport : undefined;
    module = (load ? await load(url, import.meta.url) : await import(url)) as Record<string, unknown>;
  } catch (error) {
    if (isDatabuildError(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new GraphDefinitionError(`could not load the graph module: ${message}`, file, { cause: error });
  }
  // A .ts file outside an ES module package is compiled as CommonJS, so its
  // exports arrive wrapped in `default`.
  const cjs = (module.default ?? {}) as Record<string, unknown>;
  const defined = [module.default, module.graph, cjs.default, cjs.graph].find(isDefinedGraph);
  if (!defined) {
    throw new GraphDefinitionError(
      "the module exports no graph: `export default defineGraph({ label, jobs })` (or export it as `graph`)",
      file,
    );
  }
  return toGraph(defined, { baseDir: dirname(file), file });
}
