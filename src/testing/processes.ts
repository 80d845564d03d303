/**
 * @module Test helpers for checking the process table: whether a process
 * still runs, and the pids a test's script recorded.
 */
import { existsSync, readFileSync } from "node:fs";

/** True while `pid` runs; a zombie waiting for its reaper does not count. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The pids in `file`, one per line; none if it does not exist. */
export function recordedPids(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map(Number);
}

/** A /bin/sh config script that starts a background child, appends both pids to `pids`, then hangs. */
export const HANGING_CONFIG_SH = `#!/bin/sh
sleep 1000 &
echo $! >> pids
echo $$ >> pids
exec sleep 1000
`;

/** Resolves once `condition` holds; rejects after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
