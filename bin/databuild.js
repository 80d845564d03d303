#!/usr/bin/env node
// The databuild CLI. tsx is registered first so that databuild's own sources
// and users' TypeScript graph files load without a build step.
import { register } from "tsx/esm/api";

register();
const { runCli } = await import("../src/cli/main.ts");
process.exitCode = await runCli(process.argv.slice(2));
