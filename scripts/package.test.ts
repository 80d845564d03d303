// databuild as a dependency, as a user gets it: `npm pack`'s tarball holds
// what an installed databuild needs and nothing else, and a fresh project
// outside the repository installs it, builds a graph written as docs/gsl.md
// shows with `npx databuild`, and type-checks it with `npx tsc` and the
// tsconfig.json the docs give.
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, runProcess, shellEnv, tempDir, writeFiles } from "../src/testing/run-cli.ts";
import { BUNDLED_PACKAGES, bundleOutputs, ENTRIES } from "./bundle.mjs";

/** Runs a command as from a user's shell (no npm_* variables from the test runner). */
const run = (command: string, args: readonly string[], cwd: string) =>
  runProcess(command, args, { cwd, env: shellEnv() });

interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;
const OWN = readJson<PackageJson>(join(REPO_ROOT, "package.json"));

/** The tsconfig.json docs/gsl.md gives in "Installing databuild in your project". */
function documentedTsconfig(): unknown {
  const docs = readFileSync(join(REPO_ROOT, "docs", "gsl.md"), "utf8");
  const section = docs.slice(docs.indexOf("## Installing databuild in your project"));
  return JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!);
}

const GRAPH = `import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineGraph, defineJob, query } from "databuild";

const DATA = join(dirname(fileURLToPath(import.meta.url)), "data");

const raw = defineJob({
  label: "raw",
  outputs: ["raw/date={date}"],
  config: ({ date }) => ({ args: [date] }),
  exec: ["bash", "jobs/fetch.sh"],
});

const clean = defineJob({
  label: "clean",
  outputs: ["clean/date={date}"],
  version: "1.2.0",
  config: ({ date }) => ({ inputs: [\`raw/date=\${date}\`, query(\`clean/date=\${date}-before\`)], args: [date] }),
  exec: async (config, context) => {
    const text = await readFile(join(DATA, \`raw-\${config.args[0]}.txt\`), "utf8");
    await mkdir(DATA, { recursive: true });
    await writeFile(join(DATA, "clean.tmp"), text.trim().toUpperCase() + "\\n");
    await rename(join(DATA, "clean.tmp"), join(DATA, \`clean-\${config.args[0]}.txt\`));
    context.log(\`cleaned \${config.outputs[0]!.str}\`);
  },
});

export default defineGraph({ label: "my_graph", jobs: [raw, clean] });
`;

const FETCH_SH = `#!/usr/bin/env bash
set -euo pipefail
mkdir -p data
echo "raw data for $1" > "data/raw-$1.tmp"
mv "data/raw-$1.tmp" "data/raw-$1.txt"
`;

/** Uses databuild's types wrongly: \`dat\` is not a parameter of the pattern. */
const MISTYPED = `import { defineJob } from "databuild";
export const job = defineJob({ label: "x", outputs: ["x/date={date}"], config: ({ dat }) => ({ args: [dat] }), exec: () => {} });
`;

let tarball: string;
let packed: string[];

beforeAll(async () => {
  // `npm pack` runs the prepare script: fresh bundles and declarations.
  const destination = tempDir("databuild-pack-");
  const result = await run("npm", ["pack", "--json", "--pack-destination", destination], REPO_ROOT);
  expect(result.code, result.stderr).toBe(0);
  // The prepare script's output comes first on stdout, then the JSON.
  const [info] = JSON.parse(result.stdout.slice(result.stdout.indexOf("\n[") + 1)) as {
    filename: string;
    files: { path: string }[];
  }[];
  packed = info!.files.map((f) => f.path);
  tarball = join(destination, info!.filename);
}, 300_000);

describe("databuild as a dependency", () => {
  it("packs the built CLI, its declarations and docs: no sources, tests or fixtures", () => {
    for (const name of Object.keys(ENTRIES)) expect(packed).toContain(`dist/${name}.mjs`);
    for (const file of [
      "bin/databuild.js",
      "dist/types/index.d.ts",
      "src/wrapper/spawner/spawner.py",
      "src/wrapper/spawner/spawner.mjs",
      "src/cli/init-template/databuild.ts",
      "src/cli/init-template/jobs/shout.py",
      "docs/gsl.md",
      "package.json",
    ]) {
      expect(packed).toContain(file);
    }
    const unwanted = packed.filter(
      (path) =>
        /\.test\.|(^|\/)fixtures\/|^src\/testing\/|^(examples|bench|scripts|e2e)\//.test(path) ||
        (path.endsWith(".ts") && !path.endsWith(".d.ts") && !path.startsWith("src/cli/init-template/")),
    );
    expect(unwanted).toEqual([]);
  });

  it("depends on exactly the packages the installed CLI imports or bundles in", () => {
    // Bundled packages stay dependencies: the declarations use @bufbuild/protobuf's types.
    const imported = new Set<string>(BUNDLED_PACKAGES);
    for (const file of bundleOutputs()) {
      const code = readFileSync(join(REPO_ROOT, "dist", file), "utf8");
      // Static and dynamic imports, and CommonJS packages loaded through createRequire(import.meta.url)("x").
      for (const [, specifier] of code.matchAll(/(?:\bfrom|\bimport\(|\bimport\.meta\.url\)\()\s*"([^"./][^"]*)"/g)) {
        if (specifier!.startsWith("node:")) continue;
        const parts = specifier!.split("/");
        imported.add(specifier!.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!);
      }
    }
    expect(Object.keys(OWN.dependencies).sort()).toEqual([...imported].sort());
  });

  it(
    "installs from the tarball into a fresh project that builds with npx databuild and type-checks with npx tsc",
    { timeout: 150_000 },
    async () => {
      const base = tempDir("databuild-user-");
      const dir = join(base, "my-graphs");
      mkdirSync(dir);
      writeFiles(dir, {
        "package.json": JSON.stringify({
          name: "my-graphs",
          private: true,
          type: "module",
          dependencies: { databuild: `file:${tarball}` },
          devDependencies: {
            typescript: OWN.devDependencies.typescript,
            "@types/node": OWN.devDependencies["@types/node"],
          },
        }),
        "tsconfig.json": JSON.stringify(documentedTsconfig(), null, 2),
        "databuild.ts": GRAPH,
        "mistyped.ts": MISTYPED,
      });
      mkdirSync(join(dir, "jobs"));
      writeFileSync(join(dir, "jobs", "fetch.sh"), FETCH_SH);
      // better-sqlite3 compiles its native module on install when it cannot
      // download a prebuilt one (this machine reaches only the npm registry):
      // about 100 s here, too long for one test. Its build from this
      // repository's install is put in place first; npm keeps it, and installs
      // databuild and everything else from the tarball and the registry.
      for (const pkg of ["better-sqlite3", "bindings", "file-uri-to-path"]) {
        cpSync(join(REPO_ROOT, "node_modules", pkg), join(dir, "node_modules", pkg), { recursive: true });
      }
      const install = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], dir);
      expect(install.code, install.stderr).toBe(0);
      // A copy, not a link, without databuild's development dependencies.
      expect(lstatSync(join(dir, "node_modules", "databuild")).isDirectory()).toBe(true);
      expect(existsSync(join(dir, "node_modules", "databuild", "src", "cli", "main.ts"))).toBe(false);
      for (const dev of ["@duckdb/node-api", "mermaid", "playwright-core", "vitest", "eslint", "@bufbuild/buf"]) {
        expect(existsSync(join(dir, "node_modules", dev)), dev).toBe(false);
      }

      const build = await run("npx", ["databuild", "build", "clean/date=2024-05-01"], dir);
      expect(build.code, build.stderr).toBe(0);
      expect(build.stderr).toContain("Build completed: built 2 partitions");
      expect(build.stderr).toMatch(/\(npx databuild events --build \w{8}\)/);
      expect(readFileSync(join(dir, "data", "clean-2024-05-01.txt"), "utf8")).toBe("RAW DATA FOR 2024-05-01\n");
      const again = await run("npx", ["databuild", "build", "clean/date=2024-05-01"], dir);
      expect(again.stderr).toContain("Nothing to do");

      // The installed copy's init names the tarball this project installed, from the new folder.
      const init = await run("npx", ["databuild", "init", "../my-next-graphs"], dir);
      expect(init.code, init.stderr).toBe(0);
      const next = join(base, "my-next-graphs");
      expect(readJson<PackageJson>(join(next, "package.json")).dependencies.databuild).toBe(
        `file:${relative(next, tarball)}`,
      );

      // Type-checks against the declarations: the graph passes, the misuse is caught, nothing else is reported.
      const typecheck = await run("npx", ["tsc", "--noEmit"], dir);
      const errors = typecheck.stdout.trim().split("\n");
      expect(errors, typecheck.stdout).toHaveLength(1);
      expect(errors[0]).toMatch(/^mistyped\.ts\(2,\d+\): error TS2339: Property 'dat' does not exist/);
      expect(typecheck.code).toBe(2);
    },
  );
});
