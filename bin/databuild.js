#!/usr/bin/env node
// The databuild CLI. It runs the esbuild bundle in dist/. In a checkout of
// databuild (sources present) that bundle is made by `npm ci` and rebuilt
// first whenever a file it was made from changed since (a stat of each file
// listed in dist/bundle-stamp.json, no directory walk: scripts/bundle.mjs),
// so it starts fast and is never stale; if dist/ cannot be written, it runs
// the sources through tsx. An installed package (`npm install databuild`,
// from a tarball) ships dist/ and no sources, and runs it as it is: no
// check, no rebuild. The bundle loads only what the command run needs
// (src/cli/main.ts).
import { existsSync } from "node:fs";

// A reader that stops early (`databuild events | head`) is not an error: a
// closed stdout ends the command quietly. A closed stderr only silences
// progress and messages: a build must go on and record its events, not die
// halfway (`databuild build ... 2>&1 | head`).
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});
process.stderr.on("error", (error) => {
  if (error.code !== "EPIPE") throw error;
  process.stderr.write = () => true;
});

// Stack traces of internal errors point at src/, not at the bundle.
process.setSourceMapsEnabled(true);

let cli;
if (!existsSync(new URL("../src/cli/main.ts", import.meta.url))) {
  cli = await import("../dist/cli.mjs");
} else {
  try {
    const { bundle, bundleIsFresh } = await import("../scripts/bundle.mjs");
    if (!bundleIsFresh()) await bundle();
    cli = await import("../dist/cli.mjs");
  } catch {
    const { register } = await import("tsx/esm/api");
    register();
    cli = await import("../src/cli/main.ts");
  }
}
process.exitCode = await cli.runCli(process.argv.slice(2));
// The command is done. Whatever a graph's own code left pending (a config
// function's timer after its time limit or a cancel) must not keep databuild
// running: flush what was written, then exit.
const flushed = (stream) => new Promise((resolve) => stream.write("", () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit();
