/**
 * CPU time from /proc, for the benchmarks: of a process and everything it
 * started that still runs (its own utime+stime, plus cutime+cstime, which
 * hold the children it already reaped), and of the whole machine.
 * Linux only; the kernel counts in ticks of 1/CLK_TCK s (100 here).
 */
import { readdirSync, readFileSync } from "node:fs";

const TICK_S = 0.01; // USER_HZ: 100 on Linux (getconf CLK_TCK)

interface Stat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in seconds. */
  cpuS: number;
}

function statOf(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // exited meanwhile
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return { pid, ppid: Number(f[1]), cpuS: ticks * TICK_S };
}

/** Every process's stat now. */
function snapshot(): Stat[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => statOf(Number(name)))
    .filter((s): s is Stat => s !== undefined);
}

/** The CPU seconds of `roots` and their descendants in one snapshot. */
function treeOf(stats: readonly Stat[], roots: readonly number[]): { cpuS: number; alive: boolean } {
  const children = new Map<number, Stat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  let total = 0;
  const seen = new Set<number>();
  const queue = roots.filter((pid) => byPid.has(pid));
  const alive = queue.length > 0;
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += byPid.get(pid)!.cpuS;
    for (const c of children.get(pid) ?? []) queue.push(c.pid);
  }
  return { cpuS: total, alive };
}

/** CPU seconds of `roots` and all their live descendants so far (children they reaped included). */
export function treeCpuS(roots: readonly number[]): number {
  return treeOf(snapshot(), roots).cpuS;
}

/**
 * The CPU time of process trees that end: sampled every `intervalMs` (one
 * scan of /proc for all of them), the last sample kept. A tree whose root
 * does not reap its children (a helper process orphaned at the end) is
 * still counted, up to its last sample. One scan costs about 3 ms with 70
 * processes on this machine.
 */
export class TreeCpuWatch {
  private readonly last = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 500) {
    this.timer = setInterval(() => this.scan(), intervalMs);
    this.timer.unref();
  }

  watch(root: number): void {
    this.last.set(root, 0);
  }

  /** The last CPU seconds seen of `root`'s tree, and stops watching it. */
  final(root: number): number {
    this.scan();
    const cpuS = this.last.get(root) ?? 0;
    this.last.delete(root);
    return cpuS;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private scan(): void {
    if (this.last.size === 0) return;
    const stats = snapshot();
    for (const root of this.last.keys()) {
      const tree = treeOf(stats, [root]);
      if (tree.alive) this.last.set(root, Math.max(this.last.get(root)!, tree.cpuS));
    }
  }
}

/** CPU seconds the whole machine has been busy (user, nice, system, irq, softirq; all CPUs) since boot. */
export function machineBusyS(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const [, user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq!) * TICK_S;
}
