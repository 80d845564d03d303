/**
 * Reference workload W (SPEC 4, /work/shared/bench/gen_w.py) as a TypeScript
 * GSL graph with in-process jobs. One static module, sized by environment:
 *
 *   W_N=100000 node bin/databuild.js analyze report/0 report/1 ... --graph bench/w-graph.ts
 *
 * W_N   number of time partitions N (default 1000); M = ceil(N/30) months.
 * W_DIR directory the in-process exec functions write into (default: the
 *       working directory). Planning never runs them.
 *
 *   raw/i    <- (nothing)
 *   clean/i  <- raw/i
 *   agg/i    <- clean/j for j in max(0, i-6)..i        (7-wide rolling window)
 *   report/m <- agg/i   for i in 30m..min(30m+29, N-1) (monthly roll-up)
 *
 * Configs are computed here per requested ref, exactly like the manifest
 * form's config program (bench/w_config.py); args carry the output path.
 */
import { closeSync, mkdirSync, openSync, utimesSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { defineGraph, defineJob, type ExecFunction } from "databuild";

const N = parseCount(process.env.W_N ?? "1000");
const M = Math.ceil(N / 30);
const DIR = process.env.W_DIR || process.cwd();
const NOOP = process.env.W_EXEC === "noop";

function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`W_N must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/** The partition index in `ref`, checked against its range (refs outside W are a config failure). */
function index(value: string, limit: number, ref: string): number {
  const i = Number(value);
  if (!/^\d+$/.test(value) || i >= limit) throw new Error(`${ref} is not in workload W with N=${N}`);
  return i;
}

/** Touches every output file (creating its directory), like `touch $@`; W_EXEC=noop does nothing. */
const touch: ExecFunction = (config) => {
  if (NOOP) return;
  const now = new Date();
  for (const output of config.outputs) {
    const path = resolve(DIR, output.str);
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(path, "a"));
    utimesSync(path, now, now);
  }
};

const raw = defineJob({
  label: "raw",
  outputs: ["raw/{i}"],
  config: ({ i }, ref) => (index(i, N, ref), { args: [ref] }),
  exec: touch,
});

const clean = defineJob({
  label: "clean",
  outputs: ["clean/{i}"],
  config: ({ i }, ref) => (index(i, N, ref), { inputs: [`raw/${i}`], args: [ref] }),
  exec: touch,
});

const agg = defineJob({
  label: "agg",
  outputs: ["agg/{i}"],
  config: ({ i }, ref) => {
    const k = index(i, N, ref);
    const inputs: string[] = [];
    for (let j = Math.max(0, k - 6); j <= k; j++) inputs.push(`clean/${j}`);
    return { inputs, args: [ref] };
  },
  exec: touch,
});

const report = defineJob({
  label: "report",
  outputs: ["report/{m}"],
  config: ({ m }, ref) => {
    const k = index(m, M, ref);
    const inputs: string[] = [];
    for (let i = 30 * k; i < Math.min(30 * k + 30, N); i++) inputs.push(`agg/${i}`);
    return { inputs, args: [ref] };
  },
  exec: touch,
});

export default defineGraph({ label: "w", jobs: [raw, clean, agg, report] });

/** Every target of W: report/0 .. report/M-1. */
export function targets(n: number = N): string[] {
  return Array.from({ length: Math.ceil(n / 30) }, (_, m) => `report/${m}`);
}
