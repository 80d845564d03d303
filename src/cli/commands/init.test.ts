// `databuild init` as a user runs it: the real bin scaffolds a project outside
// the repository, `npm install` installs databuild from the path init wrote,
// and the scaffolded graph builds (its TypeScript and its Python job) and
// type-checks with `npx tsc`.
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../core/errors.ts";
import { REPO_ROOT, runDatabuild, runProcess, shellEnv, tempDir, writeFiles } from "../../testing/run-cli.ts";
import { probeUser, runDatabuildAs, UNPRIVILEGED_USER } from "../../testing/storage-faults.ts";
import { defaultSpec } from "./init.ts";

/** Runs a command as from a user's shell (no npm_* variables from the test runner). */
const run = (command: string, args: readonly string[], cwd: string) =>
  runProcess(command, args, { cwd, env: shellEnv() });

const packageJson = (dir: string) =>
  JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    type: string;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };

describe("databuild init", () => {
  it("scaffolds a project that installs databuild, builds and type-checks", { timeout: 120_000 }, async () => {
    const parent = tempDir("databuild-init-");
    const init = await runDatabuild(["init", "my-graphs"], { cwd: parent });
    expect(init.stderr).toBe("");
    expect(init.code).toBe(0);
    const dir = join(parent, "my-graphs");
    // Run from a checkout, init names the checkout by its path.
    const spec = `file:${relative(dir, REPO_ROOT)}`;
    expect(packageJson(dir)).toMatchObject({ type: "module", dependencies: { databuild: spec } });
    expect(Object.keys(packageJson(dir).devDependencies).sort()).toEqual(["@types/node", "typescript"]);
    expect(readdirSync(dir).sort()).toEqual([".gitignore", "databuild.ts", "jobs", "package.json", "tsconfig.json"]);
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toContain(".databuild/");
    expect(init.stdout).toContain(`package.json names databuild as "${spec}"`);
    expect(init.stdout).toContain("  cd my-graphs\n  npm install\n  npx databuild build shout/name=world");

    const install = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], dir);
    expect(install.code, install.stderr).toBe(0);

    const build = await run("npx", ["databuild", "build", "shout/name=world"], dir);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stderr).toContain("Build completed: built 2 partitions");
    expect(build.stderr).toMatch(/\(npx databuild events --build \w{8}\)/);
    expect(readFileSync(join(dir, "data", "greeting", "name=world.txt"), "utf8")).toBe("hello, world\n");
    expect(readFileSync(join(dir, "data", "shout", "name=world.txt"), "utf8")).toBe("HELLO, WORLD\n");

    const typecheck = await run("npx", ["tsc", "--noEmit"], dir);
    expect(typecheck.stdout + typecheck.stderr).toBe("");
    expect(typecheck.code).toBe(0);
  });

  it("refuses to overwrite existing files: exit 2, naming them, nothing written", async () => {
    const dir = writeFiles(tempDir("databuild-init-"), {
      "package.json": '{"name":"mine"}\n',
      "databuild.yaml": "jobs: []\n",
    });
    const result = await runDatabuild(["init"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /the current folder already has package\.json, databuild\.yaml: init .* never overwrites a file/,
    );
    expect(result.stdout).toBe("");
    expect(readdirSync(dir).sort()).toEqual(["databuild.yaml", "package.json"]);
    expect(readFileSync(join(dir, "package.json"), "utf8")).toBe('{"name":"mine"}\n');
  });

  it("a folder it cannot write, a file where its jobs/ folder goes, or a blank spec: exit 2 naming the path, no crash", async () => {
    const blocked = writeFiles(tempDir("databuild-init-"), { jobs: "a file, not a folder" });
    const file = await runDatabuild(["init"], { cwd: blocked });
    expect(file.code, file.stderr).toBe(2);
    expect(file.stderr).toContain("cannot create jobs: a file stands where a folder must go");
    expect(file.stderr).not.toMatch(/internal error|\n\s+at /);

    const readOnly = tempDir("databuild-init-");
    chmodSync(readOnly, 0o555);
    // As root permissions do not apply: a read-only folder only refuses others.
    if (probeUser().ok) {
      const asNobody = await runDatabuildAs(UNPRIVILEGED_USER, ["init", readOnly], { cwd: tmpdir() });
      expect(asNobody.code, asNobody.stderr).toBe(2);
      expect(asNobody.stderr).toMatch(/cannot create .*: this user may not write there/);
    }

    const blank = await runDatabuild(["init", "--databuild-spec", "", "q"], { cwd: tempDir("databuild-init-") });
    expect(blank.code).toBe(2);
    expect(blank.stderr).toContain("--databuild-spec must be an npm dependency spec");
  });

  it("names databuild as --databuild-spec says, and has --help", async () => {
    const dir = tempDir("databuild-init-");
    const result = await runDatabuild(["init", "--databuild-spec", "file:../databuild-0.1.0.tgz", "p"], { cwd: dir });
    expect(result.code).toBe(0);
    expect(packageJson(join(dir, "p")).dependencies).toEqual({ databuild: "file:../databuild-0.1.0.tgz" });
    const help = await runDatabuild(["init", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: databuild init [options] [dir]");
    expect(help.stdout).toContain("--databuild-spec <spec>");
  });

  it("writes the tsconfig.json docs/gsl.md gives", () => {
    const docs = readFileSync(join(REPO_ROOT, "docs", "gsl.md"), "utf8");
    const section = docs.slice(docs.indexOf("## Installing databuild in your project"));
    const documented: unknown = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!);
    const template: unknown = JSON.parse(readFileSync(join(REPO_ROOT, "src/cli/init-template/tsconfig.json"), "utf8"));
    expect(template).toEqual(documented);
  });

  it("names an installed databuild as the project that installed it did, paths rebased", () => {
    const root = tempDir("databuild-init-");
    const installed = join(root, "project", "node_modules", "databuild");
    mkdirSync(installed, { recursive: true });
    const target = join(root, "elsewhere", "new");
    expect(() => defaultSpec(installed, target)).toThrow(UsageError);
    expect(() => defaultSpec(installed, target)).toThrow(/--databuild-spec/);
    writeFiles(join(root, "project"), {
      "package.json": JSON.stringify({ dependencies: { databuild: "file:../tarballs/databuild-0.1.0.tgz" } }),
    });
    expect(defaultSpec(installed, target)).toBe("file:../../tarballs/databuild-0.1.0.tgz");
    writeFiles(join(root, "project"), { "package.json": JSON.stringify({ devDependencies: { databuild: "^0.1.0" } }) });
    expect(defaultSpec(installed, target)).toBe("^0.1.0");
    // A copy outside node_modules (a checkout) is named by its path.
    expect(defaultSpec(join(root, "project"), target)).toBe("file:../../project");
    expect(existsSync(target)).toBe(false);
  });
});
