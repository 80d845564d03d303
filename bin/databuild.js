#!/usr/bin/env node
// The databuild CLI. tsx is registered first so that databuild's own sources
// load without a build step (users' TypeScript graphs load through tsImport).
import { register } from "tsx/esm/api";

// A reader that stops early (`databuild events | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

register();
const { runCli } = await import("../src/cli/main.ts");
process.exitCode = await runCli(process.argv.slice(2));
