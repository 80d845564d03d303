/**
 * Summarizes V8 .cpuprofile files (from `node --cpu-prof`): self time per
 * function and per source file, heaviest first.
 *
 *   npx tsx bench/profile-summary.ts PROFILE.cpuprofile [--top 30]
 *
 * Used to find where databuild's analyze time goes (docs/benchmarks.md).
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
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
const files = args.filter((a, i) => !a.startsWith("--") && i !== topAt + 1);

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
}
