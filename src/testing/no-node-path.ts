/**
 * @module Test helper: an environment like a host without Node: `env -i`
 * with a PATH of one folder that links every program of the system's
 * folders but Node and its tools (npm, npx, corepack).
 */
import { existsSync, readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { tempDir } from "./run-cli.ts";

const SYSTEM_BIN = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
const NODE_PROGRAMS = /^(node|nodejs|npm|npx|corepack)$/;

let folder: string | undefined;

/** The folder (made once per test file). */
export function noNodeBin(): string {
  if (folder !== undefined) return folder;
  folder = tempDir("databuild-no-node-bin-");
  const linked = new Set<string>();
  for (const dir of SYSTEM_BIN) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (NODE_PROGRAMS.test(name) || linked.has(name)) continue;
      linked.add(name);
      symlinkSync(join(dir, name), join(folder, name));
    }
  }
  // The point of it: prove there is no node to find.
  const probe = spawnSync("/bin/sh", ["-c", "command -v node || echo none"], { env: { PATH: folder } });
  if (probe.stdout.toString().trim() !== "none") throw new Error(`node is still on ${folder}`);
  return folder;
}

/** `env -i` plus PATH (no node) and `extra`. */
export function noNodeEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: noNodeBin(), ...extra };
}
