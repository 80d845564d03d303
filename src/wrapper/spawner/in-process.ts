/**
 * @module The in-process spawner: node:child_process.spawn from databuild's own process.
 * Always available (and the only path on Windows), but each spawn forks the whole parent.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { JobProcess, JobProcessEvents, JobProcessSpec, Spawner } from "./job-process.ts";

const noop = (): void => {};

export class InProcessSpawner implements Spawner {
  launch(spec: JobProcessSpec, events: JobProcessEvents): JobProcess {
    let child: ChildProcess;
    try {
      child = spawn(spec.argv[0]!, spec.argv.slice(1), {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ["pipe", "pipe", "pipe"],
        windowsHide: true,
      });
    } catch (error) {
      events.spawnFailed(error as NodeJS.ErrnoException);
      return { closePipes: noop, killGroup: noop };
    }
    // The stdio streams exist even when the spawn failed, and can error.
    child.stdin!.on("error", noop);
    child.stdout!.on("error", noop);
    child.stderr!.on("error", noop);
    const closePipes = (): void => {
      child.stdout!.destroy();
      child.stderr!.destroy();
    };
    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        if (process.platform === "win32") child.kill(signal);
        else process.kill(-child.pid, signal);
      } catch {
        // ESRCH: every process of the group has exited already.
      }
    };
    if (child.pid === undefined) {
      // ENOENT, EACCES and the like arrive as an 'error' event on the next tick.
      child.once("error", (error) => events.spawnFailed(error));
      return { closePipes, killGroup };
    }
    child.on("error", noop);
    events.spawned(child.pid);
    // A job that never reads stdin gets EPIPE here, ignored above.
    child.stdin!.end(spec.stdin);
    child.stdout!.on("data", (chunk: Buffer) => events.stdout(chunk));
    child.stderr!.on("data", (chunk: Buffer) => events.stderr(chunk));
    child.on("exit", () => events.exit());
    child.on("close", (code: number | null, signal: NodeJS.Signals | null) => events.close(code, signal));
    return { closePipes, killGroup };
  }

  close(): void {}
}
