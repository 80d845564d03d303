/**
 * @module Test helper: in-process jobs that write their outputs as files
 * under a directory and record when they ran, so tests can check order,
 * concurrency and what was (re)built.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { JobConfig } from "../gen/databuild_pb.ts";
import type { ExecContext } from "../core/job.ts";
import { DepType } from "../gen/databuild_pb.ts";

export interface RunRecord {
  readonly job: string;
  readonly outputs: string[];
  readonly startedAt: number;
  readonly endedAt: number;
}

/** Tracks runs of file-writing jobs in `dir`. */
export class FileJobs {
  readonly runs: RunRecord[] = [];
  private running = 0;
  maxConcurrent = 0;

  constructor(readonly dir: string) {}

  /** An exec that waits `ms`, checks its MATERIALIZE inputs exist, then writes its outputs. */
  exec(job: string, options: { ms?: number; fail?: (ref: string) => boolean } = {}) {
    return async (config: JobConfig, context: ExecContext): Promise<void> => {
      this.running++;
      this.maxConcurrent = Math.max(this.maxConcurrent, this.running);
      const startedAt = performance.now();
      try {
        for (const input of config.inputs) {
          if (input.depType === DepType.QUERY) continue;
          const path = this.path(input.partitionRef!.str);
          if (!existsSync(path)) throw new Error(`input ${input.partitionRef!.str} missing when ${job} started`);
        }
        if (options.ms) await sleep(options.ms, context.signal);
        const outputs = config.outputs.map((o) => o.str);
        const failing = outputs.find((ref) => options.fail?.(ref));
        if (failing) throw new Error(`${job} refuses to build ${failing}`);
        for (const ref of outputs) {
          mkdirSync(dirname(this.path(ref)), { recursive: true });
          writeFileSync(this.path(ref), `${job}\n`);
        }
        this.runs.push({ job, outputs, startedAt, endedAt: performance.now() });
      } finally {
        this.running--;
      }
    };
  }

  path(ref: string): string {
    return join(this.dir, ref);
  }

  /** Output refs built so far, in completion order. */
  built(): string[] {
    return this.runs.flatMap((r) => r.outputs);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new Error("aborted"));
    });
  });
}
