/**
 * @module The host port on Linux (host-processes.ts): a pid exists if
 * kill(pid, 0) finds it; /proc/PID/stat tells a zombie, a stopped process
 * and its start time (so a later process that reused the pid is told
 * apart), /proc/PID/environ its environment. Without /proc (another OS), a
 * process that exists is all it can tell. The only file of
 * src/coordination/ that touches the system.
 */
import { readdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { HostProcesses, ProcessFacts } from "./host-processes.ts";

/** Linux's USER_HZ, the unit of /proc/PID/stat's start time; 100 on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

let bootTimeMs: number | undefined;

function bootTime(): number | undefined {
  if (bootTimeMs !== undefined) return bootTimeMs;
  try {
    const line = readFileSync("/proc/stat", "utf8")
      .split("\n")
      .find((l) => l.startsWith("btime "));
    if (line) bootTimeMs = Number(line.slice(6)) * 1000;
  } catch {
    // no /proc
  }
  return bootTimeMs;
}

export class ProcHostProcesses implements HostProcesses {
  readonly hostname = hostname();
  readonly pid = process.pid;

  inspect(pid: number): ProcessFacts {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EPERM") return { exists: false };
    }
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      return { exists: true }; // no /proc: kill(0) says it exists, nothing more
    }
    // Fields after the command name, which is in parentheses and may contain anything.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = fields[0];
    if (state === "Z" || state === "X" || state === "x") return { exists: false };
    const boot = bootTime();
    const startTicks = Number(fields[19]);
    const startedAtMs =
      boot !== undefined && Number.isFinite(startTicks)
        ? boot + (startTicks * 1000) / CLOCK_TICKS_PER_SECOND
        : undefined;
    return { exists: true, stopped: state === "T" || state === "t", startedAtMs };
  }

  environment(pid: number): readonly string[] | undefined {
    try {
      return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
    } catch {
      return undefined; // gone already, not ours, or no /proc
    }
  }

  withEnvironment(entry: string): number[] {
    let entries: string[];
    try {
      entries = readdirSync("/proc");
    } catch {
      return []; // no /proc
    }
    const found: number[] = [];
    for (const name of entries) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 0 || pid === this.pid) continue;
      if (this.environment(pid)?.includes(entry)) found.push(pid);
    }
    return found;
  }

  kill(pid: number, options: { readonly group?: boolean } = {}): void {
    try {
      process.kill(options.group ? -pid : pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
}

/** This host, as /proc tells it: the default wherever a HostProcesses is not passed in. */
export const PROC_HOST: HostProcesses = new ProcHostProcesses();
