#!/usr/bin/env node
// Config program of workload W's manifest form, in Node (same contract and
// output as bench/w_config.py; the bench measures both).
// Usage: node w-config.mjs JOB N REF...  -> a JobConfigureResponse on stdout.
const [job, nText, ...refs] = process.argv.slice(2);
const n = Number(nText);
if (!job || !Number.isSafeInteger(n) || n < 1) {
  process.stderr.write("usage: w-config.mjs JOB N REF...\n");
  process.exit(2);
}
const limit = job === "report" ? Math.ceil(n / 30) : n;
const configs = [];
for (const ref of refs) {
  const slash = ref.indexOf("/");
  const value = ref.slice(slash + 1);
  if (ref.slice(0, slash) !== job || !/^\d+$/.test(value) || Number(value) >= limit) {
    process.stderr.write(`w-config.mjs: job ${job}: ${ref} is not in workload W with N=${n}\n`);
    process.exit(1);
  }
  const k = Number(value);
  const inputs = [];
  if (job === "clean") inputs.push(`raw/${k}`);
  else if (job === "agg") for (let j = Math.max(0, k - 6); j <= k; j++) inputs.push(`clean/${j}`);
  else if (job === "report") for (let i = 30 * k; i < Math.min(30 * k + 30, n); i++) inputs.push(`agg/${i}`);
  configs.push({ outputs: [{ str: ref }], inputs: inputs.map((str) => ({ partitionRef: { str } })), args: [ref] });
}
process.stdout.write(JSON.stringify({ configs }));
