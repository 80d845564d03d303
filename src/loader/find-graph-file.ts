/**
 * @module Which graph file a command uses: --graph, then $DATABUILD_GRAPH,
 * then the first of databuild.ts, databuild.js, databuild.yaml,
 * databuild.json in the working directory (SPEC 3.4).
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { GraphDefinitionError } from "../core/errors.ts";

export const DEFAULT_GRAPH_FILES = ["databuild.ts", "databuild.js", "databuild.yaml", "databuild.json"] as const;

/** Returns the absolute path of the graph file, or throws GraphDefinitionError. */
export function findGraphFile(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  const given = flag ?? (env.DATABUILD_GRAPH || undefined);
  if (given !== undefined) {
    const path = resolve(cwd, given);
    const source = flag !== undefined ? "--graph" : "DATABUILD_GRAPH";
    if (!existsSync(path)) throw new GraphDefinitionError(`graph file not found (from ${source})`, path);
    if (!statSync(path).isFile()) throw new GraphDefinitionError(`not a file (from ${source})`, path);
    return path;
  }
  for (const name of DEFAULT_GRAPH_FILES) {
    const path = resolve(cwd, name);
    if (existsSync(path)) return path;
  }
  throw new GraphDefinitionError(
    `no graph file in ${cwd}: looked for ${DEFAULT_GRAPH_FILES.join(", ")}. Pass --graph PATH or set DATABUILD_GRAPH.`,
  );
}
