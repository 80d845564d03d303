/**
 * @module What this host can prove about a process of a build request that
 * runs here: gone (no such process, a zombie, or a later process that reused
 * the pid), stopped (SIGSTOP, a debugger), running, or unknown (no /proc).
 */
import { readFileSync } from "node:fs";

export type HostProcessState = "gone" | "stopped" | "running" | "unknown";

/** Linux's USER_HZ, the unit of /proc/PID/stat's start time; 100 on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;
/** Slack for clock rounding between the kernel's start time and the event's timestamp. */
const START_SLACK_MS = 2_000;

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

/**
 * The state of `pid`, which was alive at `startedBeforeMs` if it is the
 * process meant: a process that started later reused the pid.
 */
export function hostProcessState(pid: number, startedBeforeMs: number): HostProcessState {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return "gone";
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return "unknown"; // no /proc: kill(0) says it exists, nothing more
  }
  // Fields after the command name, which is in parentheses and may contain anything.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  if (state === "Z" || state === "X" || state === "x") return "gone";
  const boot = bootTime();
  const startTicks = Number(fields[19]);
  if (boot !== undefined && Number.isFinite(startTicks) && startedBeforeMs > 0) {
    const startedMs = boot + (startTicks * 1000) / CLOCK_TICKS_PER_SECOND;
    if (startedMs > startedBeforeMs + START_SLACK_MS) return "gone";
  }
  return state === "T" || state === "t" ? "stopped" : "running";
}
