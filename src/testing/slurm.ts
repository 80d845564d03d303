/**
 * @module Test support: the single-node SLURM cluster the SLURM launcher's
 * tests submit to (scripts/slurm-cluster.mjs starts it once and leaves it
 * running). Without one, the tests are skipped on a developer's machine and
 * fail loudly under CI=true.
 */
import { spawnSync } from "node:child_process";
import { ensureSlurmCluster } from "../../scripts/slurm-cluster.mjs";

/** Why there is no cluster to test with, or undefined when there is one. */
export const SLURM_PROBLEM: string | undefined = ensureSlurmCluster({ log: () => {} });

/** Skip the tests: no cluster, and not in CI (where a missing cluster is a failure). */
export const SKIP_SLURM = SLURM_PROBLEM !== undefined && process.env.CI !== "true";

/** Throws (failing the tests) when there is no cluster; call it in beforeAll. */
export function requireSlurm(): void {
  if (SLURM_PROBLEM !== undefined)
    throw new Error(
      `the SLURM launcher's tests need a SLURM cluster: ${SLURM_PROBLEM} (as root: node scripts/slurm-cluster.mjs)`,
    );
}

/** The SLURM job ids (squeue) of jobs named `name`, in any state. */
export function slurmJobsNamed(name: string): string[] {
  const result = spawnSync("squeue", ["--noheader", "--states=all", `--name=${name}`, "--format=%i"], {
    encoding: "utf8",
  });
  return result.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

/** `scontrol show job` of one job, as key -> value. */
export function slurmJob(id: string): Record<string, string> {
  const result = spawnSync("scontrol", ["--oneliner", "show", "job", id], { encoding: "utf8" });
  return Object.fromEntries(
    result.stdout
      .trim()
      .split(/\s+/)
      .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
  );
}
