/**
 * Summarizes V8 .cpuprofile files (from `node --cpu-prof`): self time per
 * function and per source file, heaviest first.
 *
 *   npx tsx bench/profile-summary.ts PROFILE.cpuprofile [--top 30] [--lines]
 *
 * --lines also lists the hottest source lines (V8 positionTicks; sampled
 * hits, not ms). Line numbers are only meaningful for plain JS files: for
 * tsx-compiled TypeScript profile an esbuild bundle instead, e.g.
 *   npx esbuild bench/analyze-inproc.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=bench/out/inproc.mjs
 *   W_N=100000 node --cpu-prof --cpu-prof-dir=bench/out/prof bench/out/inproc.mjs
 *
 * Used to find where databuild's analyze time goes (docs/benchmarks.md).
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  positionTicks?: { line: number; ticks: number }[];
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const topAt = args.indexOf("--top");
const top = topAt === -1 ? 30 : Number(args[topAt + 1]);
const files = args.filter((a, i) => !a.startsWith("--") && (topAt === -1 || i !== topAt + 1));
const lines = args.includes("--lines");

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Sample i lasted timeDeltas[i+1] microseconds.
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + dt);
  }
  const total = (profile.endTime - profile.startTime) / 1000;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const short = url.replace(/^file:\/\/.*?\/(src|bench|node_modules)\//, "$1/");
    const name = `${functionName || "(anonymous)"}  ${short}${url ? `:${lineNumber + 1}` : ""}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us / 1000);
    byFile.set(short || "(native/vm)", (byFile.get(short || "(native/vm)") ?? 0) + us / 1000);
  }
  const show = (title: string, map: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [name, ms] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${name}`);
    }
  };
  console.log(`${file}: ${total.toFixed(0)} ms profiled`);
  show("self time by function", byFunction);
  show("self time by file", byFile);
  if (lines) showLines(profile);
}

/** The hottest source lines, with their text when the file is readable. */
function showLines(profile: Profile): void {
  const ticks = new Map<string, number>();
  for (const node of profile.nodes) {
    if (!node.callFrame.url.startsWith("file://")) continue;
    for (const { line, ticks: t } of node.positionTicks ?? []) {
      const key = `${node.callFrame.url}:${line}`;
      ticks.set(key, (ticks.get(key) ?? 0) + t);
    }
  }
  const sources = new Map<string, string[]>();
  const text = (url: string, line: number) => {
    if (!sources.has(url)) {
      try {
        sources.set(url, readFileSync(new URL(url), "utf8").split("\n"));
      } catch {
        sources.set(url, []);
      }
    }
    return (sources.get(url)![line - 1] ?? "").trim().slice(0, 110);
  };
  console.log("\nhottest lines (sample hits)");
  for (const [key, t] of [...ticks].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const at = key.lastIndexOf(":");
    const url = key.slice(0, at);
    const line = Number(key.slice(at + 1));
    console.log(`${String(t).padStart(7)}  ${url.replace(/^.*\//, "")}:${line}  ${text(url, line)}`);
  }
}
