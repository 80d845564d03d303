/**
 * @module Resident memory of a job's process tree, for heartbeats (Linux /proc; 0 elsewhere).
 */
import { readdirSync, readFileSync } from "node:fs";

/** Bounds the walk, in case /proc changes under it faster than it can be read. */
const MAX_PROCESSES = 10_000;

/**
 * Sums VmRSS over process `pid` and its descendants (the job and what it
 * started, e.g. the python a bash script runs), in bytes. Walks
 * /proc/PID/task/TID/children, so it reads a few files per job process
 * rather than all of /proc. Returns 0 when /proc is unavailable or the
 * process is gone; processes that exit during the walk are skipped.
 */
export function treeRssBytes(pid: number): number {
  if (process.platform !== "linux" || pid <= 0) return 0;
  let total = 0;
  const pending = [pid];
  const seen = new Set<number>();
  while (pending.length > 0 && seen.size < MAX_PROCESSES) {
    const current = pending.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    try {
      total += vmRssBytes(readFileSync(`/proc/${current}/status`, "latin1"));
      for (const thread of readdirSync(`/proc/${current}/task`)) {
        for (const child of readFileSync(`/proc/${current}/task/${thread}/children`, "latin1").split(" ")) {
          if (child) pending.push(Number(child));
        }
      }
    } catch {
      // The process or thread exited during the walk, or the kernel lacks the children files.
    }
  }
  return total;
}

function vmRssBytes(status: string): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}
