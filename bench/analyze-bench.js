#!/usr/bin/env node
// Entry point for `npm run bench:analyze` (package.json): registers tsx and
// runs bench/analyze-bench.ts, which documents the flags. Same as
// `npx tsx bench/analyze-bench.ts ...`.
import { register } from "tsx/esm/api";

register();
await import("./analyze-bench.ts");
