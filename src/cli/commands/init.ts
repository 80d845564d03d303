/**
 * @module `databuild init [DIR]`: scaffolds a minimal graph project (a
 * package.json naming databuild as a dependency, tsconfig.json, a databuild.ts
 * graph with an in-process TypeScript job and a command job, a .gitignore).
 * It never overwrites a file. The graph and its job script are real files in
 * src/cli/init-template/, type-checked and linted with databuild's sources.
 */
import type { Command } from "commander";
import {
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../../core/errors.ts";
import type { CommandContext } from "../context.ts";

/** Files copied from the template folder, as they are. */
const TEMPLATE_FILES = ["tsconfig.json", "databuild.ts", join("jobs", "shout.py")];
/** Files init writes; any of them already there (or another graph file) stops it. */
const CREATED = ["package.json", ...TEMPLATE_FILES, ".gitignore"];
const OTHER_GRAPH_FILES = ["databuild.js", "databuild.yaml", "databuild.json"];
const GITIGNORE = "node_modules/\n.databuild/\ndata/\n";
const FIRST_BUILD = "shout/name=world";

interface InitOptions {
  databuildSpec?: string;
}

export function registerInit(program: Command, context: () => CommandContext): void {
  program
    .command("init")
    .argument("[dir]", "the project folder, created if missing", ".")
    .description(
      "scaffold a graph project: package.json (databuild as a dependency), tsconfig.json, " +
        "databuild.ts with an in-process TypeScript job and a command job, .gitignore",
    )
    .option(
      "--databuild-spec <spec>",
      "how package.json names the databuild dependency: a path, a tarball or a version range " +
        '(default: where this databuild came from, e.g. "file:../databuild" for a checkout)',
    )
    .addHelpText(
      "after",
      "\nNever overwrites a file: if DIR already has one of " +
        `${CREATED.join(", ")} (or another databuild graph file), init changes nothing and exits 2.\n`,
    )
    .action((dir: string, options: InitOptions) => {
      const ctx = context();
      const target = resolve(ctx.io.cwd, dir);
      const named = target === ctx.io.cwd ? "the current folder" : dir;
      if (existsSync(target) && !statSync(target).isDirectory()) throw new UsageError(`${dir} is not a folder`);
      const refuse = (existing: readonly string[]) =>
        new UsageError(
          `${named} already has ${existing.join(", ")}: init makes a new project and never overwrites a file; ` +
            "pick a new or empty folder (`databuild init DIR`)",
        );
      const existing = [...CREATED, ...OTHER_GRAPH_FILES].filter((file) => existsSync(join(target, file)));
      if (existing.length > 0) throw refuse(existing);
      const root = packageRoot();
      if (options.databuildSpec !== undefined && !/^\S+$/.test(options.databuildSpec))
        throw new UsageError(
          `--databuild-spec must be an npm dependency spec (a path, file:TARBALL or a version range), got ${JSON.stringify(options.databuildSpec)}`,
        );
      const spec = options.databuildSpec ?? defaultSpec(root, target);
      const own = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as PackageJson;
      // What the file system refuses (a folder this user may not write, a file where a folder goes) is
      // the caller's to fix: a usage error naming the path, not a crash.
      const unwritable = (path: string, error: unknown): UsageError => {
        const code = (error as NodeJS.ErrnoException).code;
        const why =
          code === "EACCES" || code === "EPERM"
            ? "this user may not write there"
            : code === "EROFS"
              ? "it is on a read-only file system"
              : code === "EEXIST" || code === "ENOTDIR"
                ? "a file stands where a folder must go"
                : (error as Error).message;
        return new UsageError(`cannot create ${path}: ${why}`);
      };
      try {
        mkdirSync(join(target, "jobs"), { recursive: true });
      } catch (error) {
        throw unwritable(join(dir, "jobs"), error);
      }
      // Exclusive creates: a file that appeared since the check is still never overwritten.
      const create = (file: string, write: (path: string) => void) => {
        try {
          write(join(target, file));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "EEXIST") throw refuse([file]);
          throw unwritable(join(dir, file), error);
        }
      };
      create("package.json", (path) => writeFileSync(path, projectPackageJson(target, spec, own), { flag: "wx" }));
      for (const file of TEMPLATE_FILES) {
        const template = join(root, "src", "cli", "init-template", file);
        create(file, (path) => copyFileSync(template, path, constants.COPYFILE_EXCL));
      }
      create(".gitignore", (path) => writeFileSync(path, GITIGNORE, { flag: "wx" }));
      const rel = relative(ctx.io.cwd, target);
      ctx.out(nextSteps(rel.length < target.length ? rel : target, spec));
    });
}

interface PackageJson {
  name?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** databuild's own folder (a checkout, or the installed package): the nearest package.json named databuild. */
function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file) && (JSON.parse(readFileSync(file, "utf8")) as PackageJson).name === "databuild") return dir;
    if (dirname(dir) === dir) throw new Error(`databuild init: no databuild package.json above ${import.meta.url}`);
  }
}

/**
 * Where this databuild came from, as a dependency spec for a project in
 * `target`: a checkout (or any copy outside node_modules) as `file:` its
 * path; an installed copy as the spec of the project that installed it
 * (npx's cache included), `file:` paths rebased onto `target`.
 */
export function defaultSpec(root: string, target: string): string {
  const real = realpathSync(root);
  const parts = real.split(sep);
  const modules = parts.lastIndexOf("node_modules");
  if (modules === -1) return fileSpec(real, target);
  const project = parts.slice(0, modules).join(sep) || sep;
  const spec = dependencySpec(join(project, "package.json"));
  if (spec?.startsWith("file:")) return fileSpec(resolve(project, spec.slice("file:".length)), target);
  if (spec !== undefined) return spec;
  throw new UsageError(
    `cannot tell where this databuild (${real}) was installed from: ` +
      "pass --databuild-spec (a path, a tarball such as file:../databuild-0.1.0.tgz, or a version range)",
  );
}

function fileSpec(path: string, target: string): string {
  return `file:${relative(target, path).split(sep).join("/") || "."}`;
}

function dependencySpec(packageJson: string): string | undefined {
  if (!existsSync(packageJson)) return undefined;
  const pkg = JSON.parse(readFileSync(packageJson, "utf8")) as PackageJson;
  return pkg.dependencies?.databuild ?? pkg.devDependencies?.databuild ?? pkg.optionalDependencies?.databuild;
}

function projectPackageJson(target: string, spec: string, own: PackageJson): string {
  const name =
    basename(target)
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-")
      .replace(/^[._-]+/, "") || "my-graphs";
  // The TypeScript and Node types databuild itself is checked with.
  const devDependency = (pkg: string) => (own.devDependencies?.[pkg] ? `^${own.devDependencies[pkg]}` : "*");
  const pkg = {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: { build: `databuild build ${FIRST_BUILD}`, typecheck: "tsc --noEmit" },
    dependencies: { databuild: spec },
    devDependencies: { "@types/node": devDependency("@types/node"), typescript: devDependency("typescript") },
    // Install scripts npm may run (npm 12 runs only those listed): better-sqlite3 builds its native
    // module; a databuild linked from a checkout refreshes its bundle and declarations (`prepare`).
    allowScripts: { "better-sqlite3": true, esbuild: true, databuild: true },
  };
  return JSON.stringify(pkg, null, 2) + "\n";
}

function nextSteps(dir: string, spec: string): string {
  const lines = [
    `created ${dir === "" ? "here" : dir}: ${CREATED.join(", ")}`,
    `package.json names databuild as "${spec}" (change it with --databuild-spec).`,
    "",
    "next:",
    ...(dir === "" ? [] : [`  cd ${/^[\w./-]+$/.test(dir) ? dir : `'${dir.replaceAll("'", "'\\''")}'`}`]),
    "  npm install",
    `  npx databuild build ${FIRST_BUILD}   # the command job needs python3`,
    "  npx tsc --noEmit                     # type-check databuild.ts",
  ];
  return lines.join("\n") + "\n";
}
