#!/usr/bin/env node
// The databuild CLI. It runs the esbuild bundle in dist/ (made by `npm ci`),
// rebuilding it first if a source file changed since, so it starts fast and
// is never stale. If dist/ cannot be written, it runs the sources through tsx.
import { bundle, bundleIsFresh } from "../scripts/bundle.mjs";

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
try {
  if (!bundleIsFresh()) await bundle();
  cli = await import("../dist/cli.mjs");
} catch {
  const { register } = await import("tsx/esm/api");
  register();
  cli = await import("../src/cli/main.ts");
}
process.exitCode = await cli.runCli(process.argv.slice(2));
