/**
 * @module SpawnerClient: runs job processes through one persistent spawner process instead of forking databuild.
 */
/*
 * Why: node:child_process.spawn forks the calling process (libuv uses fork,
 * not vfork or posix_spawn), and fork copies the page tables, so its cost
 * grows with the parent's memory. databuild holds SQLite, the graph and the
 * plan (~200 MB RSS on workload W), where one spawn costs ~7 ms: three
 * thousand `touch` jobs spent 22 of 28 s in ChildProcess.spawn. A small
 * spawner process started once does the spawning instead: spawner.py with
 * os.posix_spawn (vfork: constant cost), or spawner.mjs, a tiny Node whose
 * forks are cheap because it is small. databuild itself then never forks per
 * job.
 *
 * Protocol. Requests, JSON one per line on the spawner's stdin (JSON escapes
 * newlines, so a line is always one request):
 *   {"op":"spawn","id":N,"argv":[...],"cwd":"/abs","env":{...},"stdin":"<JobConfig JSON>"}
 *   {"op":"close","id":N}                 close our ends of the job's pipes (the drain rule)
 *   {"op":"kill","id":N,"signal":"SIGTERM"}  killpg; unused here, the runner signals -pid itself
 * Events, binary frames on its stdout: a header of kind (u8), id (u32 LE) and
 * payload length (u32 LE), then the payload, so job output passes as raw
 * bytes whatever it holds (binary, megabyte lines) with no escaping:
 *   Ready (once, id 0) | Spawned (pid, ASCII) | SpawnError ({code, message})
 *   Stdout / Stderr (bytes) | Exit ({code, signal}) | Closed ({code, signal}: exited and both pipes closed)
 * Each job gets its own session and process group (setsid, as `detached`
 * does), the parent's chosen env and cwd, and its stdin fed then closed
 * (EPIPE ignored), exactly like the in-process path.
 *
 * Lifetime. Started on the first launch. While no job is running its handles
 * are unref'd, so databuild exits as if it did not exist; it exits when its
 * stdin reaches EOF, which happens when databuild closes it (close()) or dies,
 * even by SIGKILL. It runs in its own process group, so a terminal's Ctrl-C
 * reaches databuild (which cancels the jobs) and not the spawner.
 *
 * Fallback. If the spawner cannot start (no python3, too old, program file
 * missing) or dies before its Ready frame, every pending and later launch
 * goes to `fallback` (by default: the Node spawner, then in process). If it dies later,
 * launches it never confirmed fail as launch failures, jobs it had started
 * are SIGKILLed and reported lost, and later launches use the fallback.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { FrameDecoder, FrameKind } from "./frames.ts";
import { InProcessSpawner } from "./in-process.ts";
import type { JobProcess, JobProcessEvents, JobProcessSpec, Spawner } from "./job-process.ts";
import { spawnerProgram } from "./locate.ts";

export type SpawnerProgram = "python" | "node";

export interface SpawnerClientOptions {
  /** Where launches go when the spawner cannot run; default an InProcessSpawner. */
  readonly fallback?: Spawner;
  /** The program file; default spawner.py or spawner.mjs found by spawnerProgram. */
  readonly programPath?: string;
  /** The Python interpreter; default "python3". */
  readonly python?: string;
}

type State = "stopped" | "starting" | "ready" | "failed";

/** Last bytes of the spawner's own stderr kept for messages. */
const STDERR_KEEP = 2000;

interface Unreffable {
  ref(): void;
  unref(): void;
}

class LaunchedJob implements JobProcess {
  pid = 0;
  /** Set when the launch was handed to the fallback. */
  delegate: JobProcess | undefined;

  constructor(
    readonly id: number,
    readonly spec: JobProcessSpec,
    readonly events: JobProcessEvents,
    private readonly client: SpawnerClient,
  ) {}

  killGroup(signal: NodeJS.Signals): void {
    if (this.delegate) return this.delegate.killGroup(signal);
    if (this.pid === 0) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: every process of the group has exited already.
    }
  }

  closePipes(): void {
    if (this.delegate) this.delegate.closePipes();
    else this.client.request({ op: "close", id: this.id });
  }
}

export class SpawnerClient implements Spawner {
  private state: State = "stopped";
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly jobs = new Map<number, LaunchedJob>();
  /** Requests written before Ready, kept in case the spawner never gets there. */
  private queued: string[] = [];
  private stderr = "";
  private readonly fallback: Spawner;
  private readonly programPath: string | undefined;

  constructor(
    readonly program: SpawnerProgram,
    private readonly options: SpawnerClientOptions = {},
  ) {
    this.fallback = options.fallback ?? new InProcessSpawner();
    this.programPath = options.programPath ?? spawnerProgram(program === "python" ? "spawner.py" : "spawner.mjs");
  }

  /** True once the spawner answered; false while starting or after it failed (launches use the fallback). */
  get ready(): boolean {
    return this.state === "ready";
  }

  /** The spawner's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  launch(spec: JobProcessSpec, events: JobProcessEvents): JobProcess {
    if (this.state === "stopped") this.start();
    if (this.state === "failed") return this.fallback.launch(spec, events);
    const job = new LaunchedJob(this.nextId++, spec, events, this);
    this.jobs.set(job.id, job);
    this.ref();
    this.request({
      op: "spawn",
      id: job.id,
      argv: spec.argv,
      cwd: resolve(spec.cwd),
      env: spec.env,
      stdin: spec.stdin,
    });
    return job;
  }

  /** Ends the spawner (stdin EOF); jobs still running are reported lost. The next launch starts a new one. */
  close(): void {
    this.fallback.close();
    const child = this.child;
    if (!child) return;
    child.stdin?.end();
    this.died(child, "the spawner was closed", "stopped");
  }

  /** Writes one request line; queued until Ready. */
  request(message: object): void {
    const line = JSON.stringify(message) + "\n";
    if (this.state === "ready") this.child!.stdin!.write(line);
    else if (this.state === "starting") this.queued.push(line);
  }

  private start(): void {
    if (!this.programPath) {
      this.state = "failed";
      return;
    }
    const [file, args] =
      this.program === "python"
        ? [this.options.python ?? "python3", ["-I", "-S", this.programPath]]
        : [process.execPath, [this.programPath]];
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // e.g. a loader the parent runs under; spawner.mjs needs none
    let child: ChildProcess;
    try {
      child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], detached: true, env, windowsHide: true });
    } catch {
      this.state = "failed";
      return;
    }
    this.state = "starting";
    this.child = child;
    this.queued = [];
    this.stderr = "";
    child.unref();
    (child.stdin as unknown as Unreffable).unref();
    (child.stderr as unknown as Unreffable).unref();
    child.stdin!.on("error", () => {});
    const decoder = new FrameDecoder((kind, id, payload) => this.onFrame(kind, id, payload));
    child.stdout!.on("data", (chunk: Buffer) => decoder.push(chunk));
    child.stderr!.on("data", (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-STDERR_KEEP)));
    child.on("error", (error) => this.died(child, `the spawner could not start: ${error.message}`));
    // 'close' comes after its stdout ended, so every frame has been handled.
    child.on("close", (code, signal) => this.died(child, `the spawner exited (${signal ?? `code ${code}`})`));
  }

  private onFrame(kind: FrameKind, id: number, payload: Buffer): void {
    if (kind === FrameKind.Ready) {
      this.state = "ready";
      const lines = this.queued;
      this.queued = [];
      if (lines.length > 0) this.child!.stdin!.write(lines.join(""));
      return;
    }
    const job = this.jobs.get(id);
    if (!job) return;
    switch (kind) {
      case FrameKind.Spawned:
        job.pid = Number(payload.toString("latin1"));
        job.events.spawned(job.pid);
        break;
      case FrameKind.SpawnError: {
        const { code, message } = JSON.parse(payload.toString()) as { code: string; message: string };
        this.forget(job);
        job.events.spawnFailed(Object.assign(new Error(message), { code: code || undefined }));
        break;
      }
      case FrameKind.Stdout:
        job.events.stdout(payload);
        break;
      case FrameKind.Stderr:
        job.events.stderr(payload);
        break;
      case FrameKind.Exit:
        job.events.exit();
        break;
      case FrameKind.Closed: {
        const { code, signal } = JSON.parse(payload.toString()) as { code: number | null; signal: string | null };
        this.forget(job);
        job.events.close(code, signal as NodeJS.Signals | null);
        break;
      }
    }
  }

  private forget(job: LaunchedJob): void {
    this.jobs.delete(job.id);
    if (this.jobs.size === 0) this.unref();
  }

  /** The spawner is gone (or failed to start): hand over or fail what it had. */
  private died(child: ChildProcess, reason: string, next: State = "failed"): void {
    if (this.child !== child) return; // already handled
    const neverReady = this.state === "starting";
    this.child = undefined;
    this.state = next === "stopped" ? "stopped" : "failed";
    this.queued = [];
    const detail = this.stderr.trim() ? `${reason}: ${this.stderr.trim()}` : reason;
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const job of jobs) {
      if (neverReady) {
        // It never read a request, so nothing was started twice.
        job.delegate = this.fallback.launch(job.spec, job.events);
      } else if (job.pid === 0) {
        job.events.spawnFailed(new Error(`${detail}; the job may not have started`));
      } else {
        job.killGroup("SIGKILL");
        job.events.lost(`${detail}; the job's process group was killed`);
      }
    }
  }

  private ref(): void {
    (this.child?.stdout as unknown as Unreffable | undefined)?.ref();
  }

  private unref(): void {
    (this.child?.stdout as unknown as Unreffable | undefined)?.unref();
  }
}

/** How DATABUILD_SPAWNER (or an option) chooses the spawner. */
export type SpawnerMode = "inprocess" | "node" | "python" | "auto";

/**
 * The spawner for `mode`. "auto" (the default): the Python spawner
 * (posix_spawn, the fastest), else the Node spawner, else in process.
 * "python" and "node" force that spawner, which still falls back in process
 * when it cannot start. Windows always spawns in process.
 */
export function createSpawner(mode: SpawnerMode = "auto"): Spawner {
  if (mode === "inprocess" || process.platform === "win32") return new InProcessSpawner();
  if (mode === "node") return new SpawnerClient("node");
  if (mode === "python") return new SpawnerClient("python");
  return new SpawnerClient("python", { fallback: new SpawnerClient("node") });
}

/** Reads DATABUILD_SPAWNER; an unknown value is an error naming the valid ones. */
export function spawnerModeFromEnv(env: NodeJS.ProcessEnv = process.env): SpawnerMode {
  // DATABUILD_LAUNCHER: its name before "launcher" came to mean --launcher (SPEC 3.9).
  const value = (env.DATABUILD_SPAWNER ?? env.DATABUILD_LAUNCHER)?.trim().toLowerCase() || "auto";
  if (value === "inprocess" || value === "node" || value === "python" || value === "auto") return value;
  throw new Error(
    `DATABUILD_SPAWNER=${env.DATABUILD_SPAWNER ?? env.DATABUILD_LAUNCHER} is not one of inprocess, node, python, auto`,
  );
}
