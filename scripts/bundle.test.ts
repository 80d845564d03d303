// The bundle in dist/ is never stale in a checkout, and its freshness check
// reads no directory: it compares the files the bundle was made from with
// the stamp the bundler wrote (scripts/bundle.mjs). An installed copy (no
// src/) never checks or rebuilds.
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  cpSync,
  existsSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, tempDir } from "../src/testing/run-cli.ts";

type BundleModule = typeof import("./bundle.mjs");

/** A copy of what the bundler reads, with its own scripts/bundle.mjs (ROOT is the copy). */
function checkout(): string {
  const dir = tempDir("databuild-bundle-");
  for (const path of ["src", "scripts/bundle.mjs", "package.json", "tsconfig.json", "bin"])
    cpSync(join(REPO_ROOT, path), join(dir, path), { recursive: true });
  symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

describe("the bundle's freshness", () => {
  let dir: string;
  let bundler: BundleModule;
  beforeAll(async () => {
    dir = checkout();
    bundler = (await import(pathToFileURL(join(dir, "scripts/bundle.mjs")).href)) as BundleModule;
    await bundler.bundle();
  }, 60_000);

  it("is fresh after a build, and stays fresh when an unrelated file appears", () => {
    expect(bundler.bundleIsFresh()).toBe(true);
    writeFileSync(join(dir, "src", "core", "notes.txt"), "not imported\n");
    expect(bundler.bundleIsFresh()).toBe(true);
    const stamp = JSON.parse(readFileSync(join(dir, "dist", "bundle-stamp.json"), "utf8")) as {
      inputs: [string, number, number, number][];
      outputs: string[];
    };
    expect(stamp.inputs.map(([path]) => path)).toContain("src/cli/main.ts");
    // A bundled package is stamped by its package.json, not its ~80 files.
    // (This copy's node_modules is a link: the path leads out of it.)
    const paths = stamp.inputs.map(([path]) => path);
    expect(paths.filter((path) => path.endsWith("node_modules/@bufbuild/protobuf/package.json"))).toHaveLength(1);
    expect(paths.filter((path) => path.includes("@bufbuild/protobuf/dist"))).toEqual([]);
    expect(stamp.outputs).toContain("cli.mjs");
  });

  it("goes stale on an edit in place, even one that keeps the size and the mtime", async () => {
    const file = join(dir, "src", "core", "plural.ts");
    const before = statSync(file);
    writeFileSync(file, readFileSync(file, "utf8").replace('"1 job"', '"1 run"')); // the same size
    utimesSync(file, before.atime, before.mtime); // and its old mtime back (cp -p, rsync -a): the ctime still moved
    expect(statSync(file).size).toBe(before.size);
    expect(bundler.bundleIsFresh()).toBe(false);
    await bundler.bundle();
    expect(bundler.bundleIsFresh()).toBe(true);
    appendFileSync(file, "\n");
    expect(bundler.bundleIsFresh()).toBe(false);
    await bundler.bundle();
  }, 60_000);

  it("goes stale when an input is deleted, or the stamp or an output is missing", async () => {
    expect(bundler.bundleIsFresh()).toBe(true);
    rmSync(
      join(
        dir,
        "dist",
        bundler.bundleOutputs().find((f) => f.startsWith("cli-"))!,
      ),
    );
    expect(bundler.bundleIsFresh()).toBe(false);
    await bundler.bundle();
    rmSync(join(dir, "dist", "bundle-stamp.json"));
    expect(bundler.bundleIsFresh()).toBe(false);
    await bundler.bundle();
    rmSync(join(dir, "src", "cli", "commands", "jobs.ts"));
    expect(bundler.bundleIsFresh()).toBe(false);
  }, 60_000);

  it("is never checked or rebuilt in an installed copy (no src/)", () => {
    const installed = tempDir("databuild-installed-");
    for (const path of ["bin", "dist", "package.json"])
      cpSync(join(dir, path), join(installed, path), { recursive: true });
    symlinkSync(join(REPO_ROOT, "node_modules"), join(installed, "node_modules"));
    rmSync(join(installed, "dist", "bundle-stamp.json"));
    const run = spawnSync(process.execPath, [join(installed, "bin", "databuild.js"), "--help"], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("Usage: databuild");
    expect(existsSync(join(installed, "dist", "bundle-stamp.json"))).toBe(false);
  });
});
