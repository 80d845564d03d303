// `npm test` gets what its tests need before running them (the `pretest`
// script): present prerequisites pass at once; missing ones are installed
// with apt-get as root, or named (with their Debian package) right away.
// Real processes; the apt-get path itself is exercised by CI on a fresh machine.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../src/testing/run-cli.ts";

const SCRIPT = join(REPO_ROOT, "scripts", "test-prerequisites.mjs");

function check(env: NodeJS.ProcessEnv, user?: { uid: number; gid: number }) {
  return new Promise<{ code: number | null; stderr: string; ms: number }>((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [SCRIPT], { env, cwd: "/", stdio: ["ignore", "ignore", "pipe"], ...user });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr, ms: Date.now() - started }));
  });
}

describe("npm test's prerequisites", () => {
  it("the README's test command is what CI runs, and it checks the prerequisites first", () => {
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    const testCommand = /^(npm \S+)\s+# run the tests$/m.exec(readme)![1]!;
    expect(testCommand).toBe("npm test");
    const ci = readFileSync(join(REPO_ROOT, ".ci", "run"), "utf8").split("\n");
    expect(ci).toContain(testCommand);
    // CI installs nothing itself: what `npm test` needs, `npm test` gets.
    expect(ci.filter((line) => !line.startsWith("#") && line.includes("apt-get"))).toEqual([]);
    const scripts = (
      JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts.pretest).toBe("node scripts/test-prerequisites.mjs");
  });

  it("passes quietly when everything is installed", async () => {
    const result = await check(process.env);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("fails at once, naming the Debian package, when it may not install a missing one", async () => {
    // Not root: nothing may be installed. (As root, run as nobody.)
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
    const result = await check({ ...process.env, DATABUILD_CHROMIUM: "/nonexistent/chromium" }, asUser);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("chromium (Debian package chromium, at /nonexistent/chromium)");
    expect(result.stderr).toContain("sudo apt-get install chromium");
    expect(result.stderr).not.toContain("python3");
    expect(result.ms).toBeLessThan(10_000);
  });

  it("names Debian's postgresql package when the PostgreSQL server programs are missing", async () => {
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
    const result = await check({ ...process.env, DATABUILD_PG_BIN: "/nonexistent/bin" }, asUser);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("PostgreSQL server (Debian package postgresql, at /nonexistent/bin)");
    expect(result.stderr).toContain("sudo apt-get install postgresql");
    expect(result.stderr).not.toContain("chromium (");
  });

  it("fails at once, naming the package, when there is no apt-get to install with", async () => {
    const result = await check({ ...process.env, PATH: "/nonexistent" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("python3 (Debian package python3)");
    expect(result.stderr).toContain("apt-get install python3");
    expect(result.stderr).not.toContain("chromium (");
  });
});
