// Hints (`... events --build ID`, `to rebuild: ...`) name the command the user
// actually ran, so they can be pasted as they are: `npx databuild` under npx,
// `databuild` from PATH, the path otherwise. Real processes throughout.
import { mkdirSync, symlinkSync } from "node:fs";
import { delimiter, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DATABUILD_API,
  DATABUILD_BIN,
  REPO_ROOT,
  runDatabuild,
  runProcess,
  shellEnv,
  tempDir,
  writeFiles,
} from "../testing/run-cli.ts";

const run = (command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv) =>
  runProcess(command, args, { cwd, env });

function project(): string {
  return writeFiles(tempDir("databuild-hints-"), {
    "package.json": JSON.stringify({ type: "module" }),
    "databuild.ts": `import { defineGraph, defineJob } from ${JSON.stringify(DATABUILD_API)};
export default defineGraph({ label: "hints", jobs: [defineJob({ label: "one", outputs: ["one/{n}"], exec: () => {} })] });
`,
  });
}

/** The events hint of a build summary: everything inside "(... events --build ID)". */
function eventsHint(stderr: string): string {
  const hint = /\(([^()]+ events --build \w{8})\)/.exec(stderr);
  expect(hint, stderr).not.toBeNull();
  return hint![1]!;
}

/** Runs the hint through a shell, as a user pasting it would, and checks it reaches the same build. */
async function expectRunnable(hint: string, cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  const result = await run("sh", ["-c", hint], cwd, env);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  expect(result.stdout.trim().split("\n").at(-1)).toContain("build request completed");
}

describe("hints name the command the user ran", () => {
  it("say `npx databuild` when started by npx", async () => {
    const dir = project();
    const graph = relative(REPO_ROOT, join(dir, "databuild.ts"));
    // Started from a shell without npm's variables: npx itself sets them.
    const result = await run("npx", ["databuild", "--graph", graph, "build", "one/1"], REPO_ROOT, shellEnv());
    expect(result.code).toBe(0);
    const hint = eventsHint(result.stderr);
    expect(hint).toMatch(new RegExp(`^npx databuild --graph ${graph.replaceAll(".", "\\.")} events --build \\w{8}$`));
    await expectRunnable(hint, REPO_ROOT, shellEnv());
  });

  it("say `databuild` when started from PATH", async () => {
    const dir = project();
    // runDatabuild starts `databuild` through a link on PATH, without npm's variables.
    const result = await runDatabuild(["build", "one/1"], { cwd: dir });
    expect(result.code).toBe(0);
    const hint = eventsHint(result.stderr);
    expect(hint).toMatch(/^databuild events --build \w{8}$/);
    const linkDir = tempDir("databuild-path-");
    symlinkSync(DATABUILD_BIN, join(linkDir, "databuild"));
    await expectRunnable(hint, dir, shellEnv({ PATH: `${linkDir}${delimiter}${process.env.PATH}` }));
  });

  it("say `node bin/databuild.js` when started that way", async () => {
    const dir = project();
    const graph = relative(REPO_ROOT, join(dir, "databuild.ts"));
    const result = await run(
      process.execPath,
      ["bin/databuild.js", "--graph", graph, "build", "one/1"],
      REPO_ROOT,
      shellEnv(),
    );
    expect(result.code).toBe(0);
    const hint = eventsHint(result.stderr);
    expect(hint).toMatch(/^node bin\/databuild\.js --graph \S+ events --build \w{8}$/);
    await expectRunnable(hint, REPO_ROOT, shellEnv());
  });

  it("name the link that ran databuild when it is not on PATH", async () => {
    const dir = project();
    mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true });
    symlinkSync(DATABUILD_BIN, join(dir, "node_modules", ".bin", "databuild"));
    const result = await run(join(dir, "node_modules", ".bin", "databuild"), ["build", "one/1"], dir, shellEnv());
    expect(result.code).toBe(0);
    const hint = eventsHint(result.stderr);
    expect(hint).toMatch(/^node_modules\/\.bin\/databuild events --build \w{8}$/);
    await expectRunnable(hint, dir, shellEnv());
  });
});
