/**
 * @module Loads a graph file into the graph model: a TypeScript or JavaScript
 * GSL module (its default export, or an export named `graph`, made by
 * defineGraph) or a manifest (.yaml/.yml/.json). TypeScript modules load
 * through tsx, registered by the databuild bin, so no build step is needed.
 */
import { dirname, extname } from "node:path";
import { pathToFileURL } from "node:url";
import { GraphDefinitionError, isDatabuildError } from "../core/errors.ts";
import type { Graph } from "../core/graph.ts";
import { isDefinedGraph, toGraph } from "../gsl/define-graph.ts";
import { loadManifestFile } from "../manifest/load-manifest.ts";

const MODULE_EXTENSIONS = new Set([".ts", ".mts", ".js", ".mjs"]);
const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Loads `file` (absolute). Throws GraphDefinitionError naming the file. */
export async function loadGraph(file: string): Promise<Graph> {
  const ext = extname(file).toLowerCase();
  if (MANIFEST_EXTENSIONS.has(ext)) return loadManifestFile(file);
  if (!MODULE_EXTENSIONS.has(ext)) {
    throw new GraphDefinitionError(`unsupported graph file type "${ext}": use .ts, .js, .yaml, .yml or .json`, file);
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    if (isDatabuildError(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new GraphDefinitionError(`could not load the graph module: ${message}`, file, { cause: error });
  }
  const defined = [module.default, module.graph].find(isDefinedGraph);
  if (!defined) {
    throw new GraphDefinitionError(
      "the module exports no graph: `export default defineGraph({ label, jobs })` (or export it as `graph`)",
      file,
    );
  }
  return toGraph(defined, { baseDir: dirname(file), file });
}
