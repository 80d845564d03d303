/**
 * @module Test helper: runs the real `databuild` bin as a child process.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export const REPO_ROOT = join(import.meta.dirname, "..", "..");
export const DATABUILD_BIN = join(REPO_ROOT, "bin", "databuild.js");
/** Import specifier for the public API from graph files outside the repo. */
export const DATABUILD_API = join(REPO_ROOT, "src", "index.ts");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let linkDir: string | undefined;

/**
 * The environment of a `databuild` started from PATH by a user's shell: a
 * `databuild` link to the bin on PATH, and none of the npm_* variables that
 * `npm test` or `npx vitest` set, so hints read `databuild ...` however the
 * tests were started.
 */
function userEnv(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; bin: string } {
  if (linkDir === undefined) {
    linkDir = mkdtempSync(join(tmpdir(), "databuild-bin-"));
    symlinkSync(DATABUILD_BIN, join(linkDir, "databuild"));
  }
  const clean = Object.fromEntries(Object.entries(env).filter(([name]) => !/^npm_/i.test(name)));
  return { env: { ...clean, PATH: `${linkDir}${delimiter}${env.PATH ?? ""}` }, bin: join(linkDir, "databuild") };
}

/** Runs `databuild ...args` as a user would from their shell and collects its output. */
export function runDatabuild(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  const user = userEnv(process.env);
  return runProcess(process.execPath, [user.bin, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...user.env, DATABUILD_GRAPH: "", DATABUILD_DB: "", ...options.env },
    input: options.input ?? "",
  });
}

/** Runs a program to its end and collects what it printed (stdin: `input`, or none). */
export function runProcess(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; input?: string },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** This process's environment as in a user's shell: without what npm sets, no graph or log chosen. */
export function shellEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  return { ...env, DATABUILD_GRAPH: "", DATABUILD_DB: "", ...extra };
}

/** A fresh temporary directory. */
export function tempDir(prefix = "databuild-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes files (path -> content) under `dir` and returns `dir`. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}
