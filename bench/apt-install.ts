/**
 * Installs the Debian packages a benchmark needs when they are missing
 * (root only; never in CI): `wanted` pairs "is it present" with its package.
 */
import { spawnSync } from "node:child_process";

export function has(program: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" }).status === 0;
}

export function installMissing(wanted: readonly (readonly [present: boolean, pkg: string])[]): void {
  const missing = wanted.filter(([present]) => !present).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(", ")} with apt-get ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  if (spawnSync("apt-get", ["install", "-y", "-qq", ...missing], { stdio: "inherit", env }).status !== 0)
    throw new Error(`apt-get install ${missing.join(" ")} failed`);
}
