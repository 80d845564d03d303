/**
 * @module A pool of function workers for one graph file. Workers start on
 * demand (at most one per job running at once, so at most the build's
 * parallelism), are kept while idle and ended with the pool. A worker that
 * dies or is terminated is dropped, and the next run gets a new one.
 */
import { getHeapStatistics } from "node:v8";
import { Worker } from "node:worker_threads";
import type { FromWorker, FunctionWorkerData, ToWorker } from "./worker-protocol.ts";

/** How a worker thread ended while a run was on it. */
export type WorkerDeath = { readonly exitCode: number; readonly error?: Error };

export interface WorkerListener {
  message(message: FromWorker): void;
  died(death: WorkerDeath): void;
}

export class PooledWorker {
  private listener: WorkerListener | undefined;
  private error: Error | undefined;
  private terminating = false;
  alive = true;

  constructor(
    private readonly worker: Worker,
    onGone: (worker: PooledWorker) => void,
  ) {
    worker.on("message", (message: FromWorker) => this.listener?.message(message));
    worker.on("error", (error) => (this.error = error));
    worker.on("exit", (exitCode) => {
      this.alive = false;
      onGone(this);
      const listener = this.listener;
      this.listener = undefined;
      if (!this.terminating) listener?.died({ exitCode, error: this.error });
    });
  }

  /** Hands the worker to one run; it keeps the process alive until released. */
  attach(listener: WorkerListener): void {
    this.listener = listener;
    this.worker.ref();
  }

  detach(): void {
    this.listener = undefined;
    this.worker.unref();
  }

  send(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  /** Ends the thread at once, even one spinning in a loop; no death is reported. */
  async terminate(): Promise<void> {
    this.terminating = true;
    this.listener = undefined;
    await this.worker.terminate();
  }
}

export class FunctionWorkerPool {
  private readonly idle: PooledWorker[] = [];
  private readonly all = new Set<PooledWorker>();

  constructor(private readonly graphFile: string) {}

  acquire(): PooledWorker {
    while (this.idle.length > 0) {
      const worker = this.idle.pop()!;
      if (worker.alive) return worker;
    }
    const worker = new PooledWorker(startWorker(this.graphFile), (gone) => this.all.delete(gone));
    this.all.add(worker);
    return worker;
  }

  /** Workers started and not ended. */
  get size(): number {
    return this.all.size;
  }

  /** Starts `count` workers now (they wait idle once loaded). */
  warm(count: number): void {
    if (count <= 0) return;
    const started = Array.from({ length: count }, () => this.acquire());
    for (const worker of started) this.release(worker);
  }

  release(worker: PooledWorker): void {
    worker.detach();
    if (worker.alive) this.idle.push(worker);
  }

  async close(): Promise<void> {
    const workers = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/**
 * From the bundle (dist/), the worker is dist/function-worker.mjs beside it;
 * from the sources (tests, tsx), function-worker.ts loads through tsx.
 */
function startWorker(graphFile: string): Worker {
  const here = import.meta.url;
  const workerData: FunctionWorkerData = { graphFile };
  const options = {
    workerData,
    stdout: false,
    stderr: false,
    name: "databuild function worker",
    // With a limit of its own, a job that exhausts its heap ends its worker
    // (ERR_WORKER_OUT_OF_MEMORY); without one, V8 aborts the whole process.
    resourceLimits: { maxOldGenerationSizeMb: workerHeapMb() },
  };
  if (!here.endsWith(".ts")) return new Worker(new URL("./function-worker.mjs", here), options);
  const tsx = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./function-worker.ts", here).href;
  const code = `import(${JSON.stringify(tsx)}).then(({ tsImport }) => tsImport(${JSON.stringify(entry)}, ${JSON.stringify(here)}));`;
  return new Worker(code, { ...options, eval: true });
}

/**
 * The old-generation heap of each function worker, in MiB:
 * $DATABUILD_FUNCTION_HEAP_MB, else what databuild's own heap may grow to.
 */
export function workerHeapMb(env: NodeJS.ProcessEnv = process.env): number {
  const asked = Number(env.DATABUILD_FUNCTION_HEAP_MB);
  if (Number.isFinite(asked) && asked >= 16) return Math.floor(asked);
  return Math.max(256, Math.floor(getHeapStatistics().heap_size_limit / (1024 * 1024)));
}
