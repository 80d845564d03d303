import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { dirWith, isAlive } from "../fixtures/runs.ts";
import { FrameDecoder, FrameKind } from "./frames.ts";
import type { SpawnerProgram } from "./spawner-client.ts";
import { spawnerProgram } from "./locate.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * Jobs that write their pid (and their background sleep's) to files, then
 * wait in their process group: on a 60 s sleep, or on `yes` flooding stdout
 * (a parent killed meanwhile breaks the spawner's stdout before it reads
 * stdin's EOF). One ignores SIGTERM (and so does its sleep, which inherits
 * that), so only the SIGKILL after the grace ends it. Name, script, whether
 * it takes the SIGKILL.
 */
const JOBS: [string, string, boolean][] = [
  ["a job that SIGTERM ends", "echo $$ > job.pid; sleep 60 & echo $! > sleep.pid; wait", false],
  ["a job that ignores SIGTERM", 'trap "" TERM; echo $$ > job.pid; sleep 60 & echo $! > sleep.pid; wait', true],
  ["a job that floods stdout", "echo $$ > job.pid; sleep 60 & echo $! > sleep.pid; yes", false],
];

const dirs: string[] = [];
const groups: number[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  // A failed test must not leave 60 s sleeps (or a spawner) behind.
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // ESRCH: gone, as it should be.
    }
  }
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = dirWith({});
  dirs.push(dir);
  return dir;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The pid a job wrote to `file`, once written in full. */
async function pidIn(file: string, ms = 5000): Promise<number> {
  const until = Date.now() + ms;
  for (;;) {
    const text = existsSync(file) ? readFileSync(file, "utf8") : "";
    if (text.endsWith("\n")) return Number(text.trim());
    if (Date.now() > until) throw new Error(`${file} holds no pid after ${ms} ms`);
    await sleep(20);
  }
}

/** Whether the process no longer exists at all (not even as a zombie): kill(pid, 0) fails with ESRCH. */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

async function waitFor(check: () => boolean, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) return false;
    await sleep(20);
  }
  return true;
}

/** Starts a spawner as SpawnerClient does, and resolves once it is ready. */
async function startSpawner(program: SpawnerProgram): Promise<{ spawner: ChildProcess; spawned: Promise<number> }> {
  const path = spawnerProgram(program === "python" ? "spawner.py" : "spawner.mjs")!;
  const [file, args] = program === "python" ? ["python3", ["-I", "-S", path]] : [process.execPath, [path]];
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const spawner = spawn(file, args, { stdio: ["pipe", "pipe", "inherit"], detached: true, env });
  children.push(spawner);
  let onReady = (): void => {};
  let onSpawned = (_pid: number): void => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const spawned = new Promise<number>((resolve) => (onSpawned = resolve));
  const decoder = new FrameDecoder((kind, _id, payload) => {
    if (kind === FrameKind.Ready) onReady();
    if (kind === FrameKind.Spawned) onSpawned(Number(payload.toString("latin1")));
  });
  spawner.stdout!.on("data", (chunk: Buffer) => decoder.push(chunk));
  await ready;
  return { spawner, spawned };
}

describe.each<SpawnerProgram>(["python", "node"])("the %s spawner at stdin EOF", (program) => {
  it("exits at once when no job is running", async () => {
    const { spawner } = await startSpawner(program);
    const exited = new Promise<number | null>((resolve) => spawner.once("exit", resolve));
    const start = Date.now();
    spawner.stdin!.end();
    expect(await exited).toBe(0);
    expect(Date.now() - start).toBeLessThan(1000);
  });

  it.each(JOBS)("ends %s, its whole process group, then exits", async (_name, script, escalates) => {
    const dir = tempDir();
    const { spawner, spawned } = await startSpawner(program);
    const exited = new Promise<number | null>((resolve) => spawner.once("exit", resolve));
    const request = { op: "spawn", id: 1, argv: ["sh", "-c", script], cwd: dir, env: process.env, stdin: "" };
    spawner.stdin!.write(JSON.stringify(request) + "\n");
    const pid = await spawned;
    groups.push(pid);
    expect(await pidIn(join(dir, "job.pid"))).toBe(pid);
    const sleepPid = await pidIn(join(dir, "sleep.pid"));

    const start = Date.now();
    spawner.stdin!.end(); // as when databuild dies
    expect(await Promise.race([exited, sleep(5000).then(() => "still running")])).toBe(0);
    const took = Date.now() - start;
    expect(gone(pid)).toBe(true);
    expect(await waitFor(() => !isAlive(sleepPid))).toBe(true); // reparented, so maybe a zombie for a moment
    // SIGTERM ends a job at once; one that ignores it only the SIGKILL after the 2 s of grace.
    if (escalates) expect(took).toBeGreaterThanOrEqual(1900);
    else expect(took).toBeLessThan(1500);
  });

  it.each(JOBS)(
    "ends %s when its parent is killed with SIGKILL",
    async (_name, script) => {
      const dir = tempDir();
      const parentScript = [
        `import { SpawnerClient } from ${JSON.stringify(pathToFileURL(join(ROOT, "src/wrapper/spawner/spawner-client.ts")).href)};`,
        `const client = new SpawnerClient(${JSON.stringify(program)});`,
        "const noop = () => {};",
        `client.launch({ argv: ['sh', '-c', ${JSON.stringify(script)}], cwd: ${JSON.stringify(dir)}, env: process.env, stdin: '' },`,
        "  { spawned: (pid) => console.log(client.pid + ' ' + pid), spawnFailed: noop, stdout: noop, stderr: noop, exit: noop, close: noop, lost: noop });",
      ].join("\n");
      const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", parentScript], {
        stdio: ["ignore", "pipe", "inherit"],
        cwd: ROOT,
      });
      children.push(parent);
      const line = await new Promise<string>((resolve) =>
        parent.stdout.once("data", (d: Buffer) => resolve(d.toString())),
      );
      const [spawnerPid, pid] = line.trim().split(" ").map(Number) as [number, number];
      groups.push(spawnerPid, pid);
      expect(await pidIn(join(dir, "job.pid"))).toBe(pid);
      const sleepPid = await pidIn(join(dir, "sleep.pid"));

      parent.kill("SIGKILL");
      expect(await waitFor(() => gone(pid))).toBe(true);
      expect(await waitFor(() => !isAlive(sleepPid))).toBe(true);
      expect(await waitFor(() => !isAlive(spawnerPid))).toBe(true);
    },
    20_000,
  );
});
