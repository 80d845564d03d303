/**
 * @module The process group of a config command: the command is spawned
 * detached, so it leads a group of its own that holds everything it starts
 * (unless that starts a session of its own). Stopping the group sends
 * SIGTERM to all of it, then SIGKILL after a grace period, and waits until
 * nothing of it runs. Every group not yet stopped is killed when databuild
 * exits ("exit" event: a return, process.exit, a second Ctrl-C, an uncaught
 * error), so no config process outlives databuild; only a signal that kills
 * databuild outright (SIGKILL, an unhandled SIGHUP) escapes.
 */
import { readdirSync, readFileSync } from "node:fs";

/** How often a stopping group is checked. */
const POLL_MS = 20;
/** After SIGKILL, how long to wait for the group to disappear before giving up. */
const GIVE_UP_MS = 1000;

const open = new Set<number>();
let exitHooked = false;

function killOpenGroups(): void {
  for (const pgid of open) signalGroup(pgid, "SIGKILL");
  open.clear();
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(process.platform === "win32" ? pgid : -pgid, signal);
  } catch {
    // Gone already.
  }
}

export class ProcessGroup {
  private stopping: Promise<void> | undefined;

  /** `pgid`: the pid of a child spawned with `detached: true`. */
  constructor(readonly pgid: number) {
    open.add(pgid);
    if (!exitHooked) {
      exitHooked = true;
      process.on("exit", killOpenGroups);
    }
  }

  /**
   * True while a process of the group runs. Zombies do not count: the
   * group's orphans are reparented to a PID 1 that may never reap them.
   */
  alive(): boolean {
    return groupAlive(this.pgid);
  }

  /**
   * Stops the whole group: SIGTERM, then SIGKILL once `graceMs` passed with
   * something still running. Resolves once nothing of it runs (or, for a
   * process that survives SIGKILL, such as one stuck in the kernel, after
   * giving up). Calling it again returns the same promise.
   */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= this.terminate(graceMs).finally(() => open.delete(this.pgid));
    return this.stopping;
  }

  private async terminate(graceMs: number): Promise<void> {
    if (!this.alive()) return;
    signalGroup(this.pgid, "SIGTERM");
    if (await this.gone(graceMs)) return;
    signalGroup(this.pgid, "SIGKILL");
    await this.gone(GIVE_UP_MS);
  }

  private async gone(withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (!this.alive()) return true;
      if (Date.now() >= deadline) return false;
    }
  }
}

function groupAlive(pgid: number): boolean {
  if (process.platform === "win32") {
    try {
      process.kill(pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  // kill(0) also finds zombies. Where /proc exists, look for a live member.
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return true;
  }
  for (const name of entries) {
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "latin1");
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
  }
  return false;
}
