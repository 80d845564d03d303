/**
 * @module Finds a spawner program file at run time, from src/ (tsx, vitest) and from the dist/ bundle alike.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const FOLDER = join("src", "wrapper", "spawner");

/**
 * The absolute path of `file` (e.g. "spawner.py"), or undefined. Looks
 * beside this module first (running from src/), then walks up from it for
 * `src/wrapper/spawner/<file>`: the bundle is dist/cli.mjs, and dist/ and
 * src/ are siblings in the repository and in the npm package ("files").
 */
export function spawnerProgram(file: string, from: string = import.meta.url): string | undefined {
  let dir = dirname(fileURLToPath(from));
  if (existsSync(join(dir, file))) return join(dir, file);
  for (;;) {
    const candidate = join(dir, FOLDER, file);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
