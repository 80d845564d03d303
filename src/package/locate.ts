/**
 * @module Where `databuild package wrapper` finds its ingredients: the
 * bundled wrapper program and postject.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../core/errors.ts";

/** The file scripts/bundle.mjs writes (PACKAGED_WRAPPER). */
export const PACKAGED_PROGRAM = "wrapper-sea.cjs";

/** The postject version databuild is tested with (package.json). */
const POSTJECT = "postject@1.0.0-alpha.6";

/**
 * dist/wrapper-sea.cjs: beside this module in the bundle (dist/), else
 * found walking up from it (running from src/, with dist/ beside src/).
 */
export function packagedProgram(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  if (existsSync(join(dir, PACKAGED_PROGRAM))) return join(dir, PACKAGED_PROGRAM);
  for (;;) {
    const candidate = join(dir, "dist", PACKAGED_PROGRAM);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir)
      throw new UsageError(
        `the wrapper's bundled program (dist/${PACKAGED_PROGRAM}) is missing: in a checkout of databuild, run npm install (its prepare script bundles it)`,
      );
    dir = parent;
  }
}

/**
 * postject's command line: installed with databuild (a checkout has it), or
 * in the project of the current directory. It is a build tool, needed only
 * to package, so an installed databuild does not bring it.
 */
export function postjectCli(cwd: string, from: string = import.meta.url): string {
  for (const base of [fileURLToPath(from), join(cwd, "package.json")]) {
    try {
      const api = createRequire(base).resolve("postject");
      const cli = join(dirname(api), "cli.js");
      if (existsSync(cli)) return cli;
    } catch {
      // Not there: try the next place.
    }
  }
  throw new UsageError(
    `databuild package wrapper needs postject (Node's tool that injects a program into a node binary), which is not installed: ` +
      `run \`npm install --save-dev ${POSTJECT}\` in your project, then try again`,
  );
}
