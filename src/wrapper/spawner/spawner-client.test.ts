import { spawn } from "node:child_process";
import { chmodSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { dirWith, isAlive, waitDead } from "../fixtures/runs.ts";
import type { JobProcessEvents, JobProcessSpec } from "./job-process.ts";
import { SpawnerClient, spawnerModeFromEnv, type SpawnerProgram } from "./spawner-client.ts";
import { spawnerProgram } from "./locate.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Records a job's events in order and resolves when it ends. */
class Recorder implements JobProcessEvents {
  readonly order: string[] = [];
  readonly out: Buffer[] = [];
  readonly err: Buffer[] = [];
  pid = 0;
  error: NodeJS.ErrnoException | undefined;
  result: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  lostReason: string | undefined;
  readonly ended: Promise<void>;
  readonly exited: Promise<void>;
  private end = (): void => {};
  private onExit = (): void => {};
  private onOutput: (() => void) | undefined;

  constructor() {
    this.ended = new Promise((resolve) => (this.end = resolve));
    this.exited = new Promise((resolve) => (this.onExit = resolve));
  }

  /** Resolves on the next output on either stream. */
  output(): Promise<void> {
    return new Promise((resolve) => (this.onOutput = resolve));
  }

  spawned(pid: number): void {
    this.order.push("spawned");
    this.pid = pid;
  }
  spawnFailed(error: NodeJS.ErrnoException): void {
    this.order.push("spawnFailed");
    this.error = error;
    this.end();
  }
  stdout(chunk: Uint8Array): void {
    this.out.push(Buffer.from(chunk));
    if (this.order.at(-1) !== "output") this.order.push("output");
    this.onOutput?.();
  }
  stderr(chunk: Uint8Array): void {
    this.err.push(Buffer.from(chunk));
    if (this.order.at(-1) !== "output") this.order.push("output");
    this.onOutput?.();
  }
  exit(): void {
    this.order.push("exit");
    this.onExit();
  }
  close(code: number | null, signal: NodeJS.Signals | null): void {
    this.order.push("close");
    this.result = { code, signal };
    this.end();
  }
  lost(reason: string): void {
    this.order.push("lost");
    this.lostReason = reason;
    this.end();
  }
}

function spec(argv: string[], init: Partial<JobProcessSpec> = {}): JobProcessSpec {
  return { argv, cwd: process.cwd(), env: process.env, stdin: "", ...init };
}

async function run(client: SpawnerClient, s: JobProcessSpec): Promise<Recorder> {
  const recorder = new Recorder();
  client.launch(s, recorder);
  await recorder.ended;
  return recorder;
}

describe.each<SpawnerProgram>(["python", "node"])("SpawnerClient %s", (program) => {
  const client = new SpawnerClient(program);

  it("runs a job with its argv, cwd, env and stdin, in its own session, and reports its exit", async () => {
    const dir = dirWith({});
    const script = 'echo "$1|$PWD|$FOO|$(cat)|$$|$(ps -o sid= -p $$ | tr -d " ")"; echo oops >&2; exit 7';
    const job = await run(
      client,
      spec(["bash", "-c", script, "bash", "a b"], { cwd: dir, env: { ...process.env, FOO: "bar" }, stdin: '{"x":1}' }),
    );
    expect(client.ready).toBe(true);
    expect(job.order).toEqual(["spawned", "output", "exit", "close"]);
    const [arg, pwd, foo, stdin, pid, sid] = Buffer.concat(job.out).toString().trim().split("|");
    expect([arg, pwd, foo, stdin]).toEqual(["a b", dir, "bar", '{"x":1}']);
    expect(Number(pid)).toBe(job.pid);
    expect(Number(sid)).toBe(job.pid);
    expect(Buffer.concat(job.err).toString()).toBe("oops\n");
    expect(job.result).toEqual({ code: 7, signal: null });
  });

  it("passes binary and huge output through byte for byte on both streams", async () => {
    const dir = dirWith({});
    const script =
      "head -c 3000000 /dev/urandom > r.bin; cat r.bin; cat r.bin >&2; head -c 2000000 /dev/zero | tr '\\0' y";
    const job = await run(client, spec(["bash", "-c", script], { cwd: dir }));
    const expected = readFileSync(join(dir, "r.bin"));
    const out = Buffer.concat(job.out);
    expect(out.length).toBe(5_000_000);
    expect(out.subarray(0, 3_000_000).equals(expected)).toBe(true);
    expect(out.subarray(3_000_000).every((b) => b === 121)).toBe(true);
    expect(Buffer.concat(job.err).equals(expected)).toBe(true);
    expect(job.result).toEqual({ code: 0, signal: null });
  });

  it("feeds a large stdin to a job that reads it, and tolerates one that never does", async () => {
    const big = "z".repeat(3_000_000);
    const reader = await run(client, spec(["wc", "-c"], { stdin: big }));
    expect(Buffer.concat(reader.out).toString().trim()).toBe("3000000");
    const ignorer = await run(client, spec(["true"], { stdin: big }));
    expect(ignorer.result).toEqual({ code: 0, signal: null });
  });

  it.each([
    ["a missing program", ["./no-such-program"], {}, "ENOENT"],
    ["a missing program on PATH", ["no-such-program-on-path-xyz"], {}, "ENOENT"],
    ["a non-executable file", ["./data.txt"], { "data.txt": "not a program" }, "EACCES"],
  ])("reports %s as a spawn failure", async (_name, argv, files, code) => {
    const dir = dirWith(files);
    chmodSync(dir, 0o755);
    const job = await run(client, spec(argv, { cwd: dir }));
    expect(job.order).toEqual(["spawnFailed"]);
    expect(job.error?.code).toBe(code);
  });

  it("reports a missing working directory as a spawn failure", async () => {
    const job = await run(client, spec(["true"], { cwd: "/nonexistent/graph-dir" }));
    expect(job.order).toEqual(["spawnFailed"]);
    expect(job.error?.code).toBe("ENOENT");
  });

  it("kills a job's whole process group on request", async () => {
    const job = new Recorder();
    const output = job.output();
    client.launch(spec(["bash", "-c", "sleep 1000 & echo $!; wait"]), job);
    await output;
    const sleepPid = Number(Buffer.concat(job.out).toString().trim());
    client.request({ op: "kill", id: 0, signal: "SIGTERM" }); // an unknown id is ignored
    process.kill(-job.pid, "SIGTERM");
    await job.ended;
    expect(job.result).toEqual({ code: null, signal: "SIGTERM" });
    expect(await waitDead(sleepPid)).toBe(true);
  });

  it("closes the pipes a background process holds once asked (the drain rule)", async () => {
    const job = new Recorder();
    const handle = client.launch(spec(["bash", "-c", "sleep 1000 & echo $!"]), job);
    await job.exited;
    handle.killGroup("SIGKILL");
    handle.closePipes();
    await job.ended;
    expect(job.result).toEqual({ code: 0, signal: null });
    expect(await waitDead(Number(Buffer.concat(job.out).toString().trim()))).toBe(true);
  });

  it("reports running jobs lost, and kills them, when the spawner dies; later jobs fall back in process", async () => {
    const own = new SpawnerClient(program);
    const job = new Recorder();
    const output = job.output();
    own.launch(spec(["bash", "-c", "echo ready; sleep 1000"]), job);
    await output;
    process.kill(own.pid!, "SIGKILL");
    await job.ended;
    expect(job.order.at(-1)).toBe("lost");
    expect(job.lostReason).toMatch(/spawner exited \(SIGKILL\).*killed/);
    expect(await waitDead(job.pid)).toBe(true);
    const later = await run(own, spec(["bash", "-c", "echo $PPID"]));
    expect(Buffer.concat(later.out).toString().trim()).toBe(String(process.pid));
  });

  it("exits when close() ends its stdin; jobs still running are reported lost and killed", async () => {
    const own = new SpawnerClient(program);
    const job = new Recorder();
    const output = job.output();
    own.launch(spec(["bash", "-c", "echo ready; sleep 1000"]), job);
    await output;
    const spawnerPid = own.pid!;
    own.close();
    expect(await waitDead(spawnerPid)).toBe(true);
    await job.ended;
    expect(job.order.at(-1)).toBe("lost");
    expect(await waitDead(job.pid)).toBe(true);
  });

  it("dies with its parent, even a parent killed with SIGKILL", async () => {
    const script = [
      `import { SpawnerClient } from ${JSON.stringify(pathToFileURL(join(ROOT, "src/wrapper/spawner/spawner-client.ts")).href)};`,
      `const client = new SpawnerClient(${JSON.stringify(program)});`,
      "const noop = () => {};",
      "client.launch({ argv: ['sleep', '1000'], cwd: '/', env: process.env, stdin: '' },",
      "  { spawned: (pid) => console.log(client.pid + ' ' + pid), spawnFailed: noop, stdout: noop, stderr: noop, exit: noop, close: noop, lost: noop });",
    ].join("\n");
    const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
      cwd: ROOT,
    });
    const line = await new Promise<string>((resolve) =>
      parent.stdout.once("data", (d: Buffer) => resolve(d.toString())),
    );
    const [spawnerPid, jobPid] = line.trim().split(" ").map(Number);
    expect(isAlive(spawnerPid!)).toBe(true);
    parent.kill("SIGKILL");
    expect(await waitDead(spawnerPid!)).toBe(true);
    // Nobody is left to record the job's result: the spawner ended it (orphaned-jobs.test.ts has the details).
    expect(await waitDead(jobPid!, 5000)).toBe(true);
  }, 20_000);
});

describe("SpawnerClient fallback", () => {
  it("runs jobs in process when the spawner cannot start", async () => {
    const client = new SpawnerClient("python", { python: "/nonexistent/python3" });
    const jobs = await Promise.all([1, 2].map(() => run(client, spec(["bash", "-c", "echo $PPID"]))));
    for (const job of jobs) expect(Buffer.concat(job.out).toString().trim()).toBe(String(process.pid));
    expect(client.ready).toBe(false);
  });

  it("runs jobs in process when the spawner exits before it is ready", async () => {
    const dir = dirWith({ "broken.py": "import sys\nsys.exit('no posix_spawn here')" });
    const client = new SpawnerClient("python", { programPath: join(dir, "broken.py") });
    const job = await run(client, spec(["bash", "-c", "echo $PPID"]));
    expect(Buffer.concat(job.out).toString().trim()).toBe(String(process.pid));
  });

  it("runs jobs in process when the program file is missing", async () => {
    const client = new SpawnerClient("node", { programPath: "/nonexistent/spawner.mjs" });
    const job = await run(client, spec(["true"]));
    expect(job.result).toEqual({ code: 0, signal: null });
  });
});

describe("spawnerProgram", () => {
  it("finds the program beside the client and from the dist/ bundle", () => {
    const expected = join(ROOT, "src/wrapper/spawner/spawner.py");
    expect(spawnerProgram("spawner.py")).toBe(expected);
    expect(spawnerProgram("spawner.py", pathToFileURL(join(ROOT, "dist/cli.mjs")).href)).toBe(expected);
    expect(spawnerProgram("no-such-spawner.py")).toBeUndefined();
  });
});

describe("spawnerModeFromEnv", () => {
  it("reads DATABUILD_SPAWNER, defaulting to auto", () => {
    expect(spawnerModeFromEnv({})).toBe("auto");
    expect(spawnerModeFromEnv({ DATABUILD_SPAWNER: "Python" })).toBe("python");
    expect(spawnerModeFromEnv({ DATABUILD_SPAWNER: "inprocess" })).toBe("inprocess");
    expect(() => spawnerModeFromEnv({ DATABUILD_SPAWNER: "fork" })).toThrow(/inprocess, node, python, auto/);
  });
});
