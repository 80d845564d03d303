/**
 * @module The SLURM launcher (`--launcher slurm`, SPEC 3.9): a JobRunner
 * that submits each command job run to a SLURM cluster with `sbatch`.
 *
 *   start    the run's folder on the shared filesystem (--slurm-dir): its
 *            JobRunRequest, a batch script, an empty events file; then sbatch
 *   on the node   the batch script runs the exec wrapper (databuild's, or the
 *            packaged one: --wrapper), which writes its events to the file
 *   here     every poll reads what each file gained and hands it to its run
 *            (slurm-run.ts), which hands the events to the build (it records
 *            them); every state poll asks squeue about all runs at once
 *   cancel   scancel: the batch script's SIGTERM reaches the wrapper, which
 *            stops the job within the kill grace and writes its end; a job
 *            still pending is cancelled outright
 *
 * Nothing on the node connects back: a compute node needs only the shared
 * filesystem (and the job's own inputs). In-process TypeScript jobs cannot
 * leave databuild: they run locally, as with `--launcher local`.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { toJsonString } from "@bufbuild/protobuf";
import { JobRunRequestSchema, type JobRunRequest } from "../../gen/databuild_pb.ts";
import type { EmitRunEvent, JobOutcome, JobRunner, RunningJob } from "../../core/job-runner.ts";
import type { FunctionExec } from "../../core/job.ts";
import type { JobResources } from "../../core/resources.ts";
import { batchScript, runFiles, sbatchOptions } from "./batch-script.ts";
import { SlurmCli, type SlurmCommands } from "./slurm-commands.ts";
import { SlurmRun, type SlurmRunTimings } from "./slurm-run.ts";

export interface SlurmJobRunnerOptions {
  /** The folder (on a filesystem the compute nodes share) for the runs' requests, scripts and events files. */
  readonly dir: string;
  /** The exec wrapper's argv on the node: `node .../databuild.js wrapper`, or a packaged wrapper. */
  readonly wrapper: readonly string[];
  /** sbatch --partition. */
  readonly partition?: string;
  /** More sbatch options, after databuild's own. */
  readonly sbatchArgs?: readonly string[];
  /** What each job declares it needs (cpus, memory): by job label. */
  readonly resourcesOf?: (jobLabel: string) => JobResources | undefined;
  /** Runs in-process jobs (they cannot go to SLURM). */
  readonly local?: JobRunner;
  /** A job waits in SLURM's queue (told after a while, then every 30 s). */
  readonly onWaiting?: (message: string) => void;
  /** A problem that stops nothing (an odd line in an events file, a failed scancel). */
  readonly onNote?: (message: string) => void;
  /** Default: SLURM's commands on PATH. */
  readonly slurm?: SlurmCommands;
  /** How often the events files are read; default 200 ms. */
  readonly pollIntervalMs?: number;
  /** How often squeue is asked; default 1 s. */
  readonly statePollMs?: number;
  readonly timings?: Partial<SlurmRunTimings>;
  /** Keep the folders of runs that succeeded (by default only failed runs' folders stay, to look into). */
  readonly keepFiles?: boolean;
}

const DEFAULT_TIMINGS: SlurmRunTimings = {
  // A shared filesystem may show a file's last lines a few seconds late (NFS attribute caching).
  endGraceMs: 3000,
  holdMaxMs: 10_000,
  waitingAfterMs: 10_000,
  waitingRepeatMs: 30_000,
  fullCancelAfterMs: 10_000,
};

export class SlurmJobRunner implements JobRunner {
  private readonly runs = new Map<string, SlurmRun>();
  private readonly slurm: SlurmCommands;
  private readonly timings: SlurmRunTimings;
  private filesTimer: NodeJS.Timeout | undefined;
  private statesTimer: NodeJS.Timeout | undefined;
  private readingFiles = false;
  private askingStates = false;
  /** Folders of runs that succeeded, being removed (close waits for them). */
  private readonly removals = new Set<Promise<void>>();

  constructor(private readonly options: SlurmJobRunnerOptions) {
    this.slurm = options.slurm ?? new SlurmCli();
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
  }

  warm(functionRuns: number): void {
    this.options.local?.warm?.(functionRuns);
  }

  start(request: JobRunRequest, emit: EmitRunEvent, fn?: FunctionExec): RunningJob {
    if (fn) {
      if (!this.options.local) throw new Error(`in-process job ${request.task?.job?.label} needs a local runner`);
      return this.options.local.start(request, emit, fn);
    }
    const files = runFiles(`${this.options.dir}/${request.jobRunId}`);
    const run = new SlurmRun(request, files, emit, {
      slurm: this.slurm,
      timings: this.timings,
      onWaiting: this.options.onWaiting,
      onNote: this.options.onNote,
      onSettled: (settled, outcome) => this.settled(settled, outcome),
    });
    this.runs.set(request.jobRunId, run);
    this.filesTimer ??= setInterval(() => void this.readFiles(), this.options.pollIntervalMs ?? 200);
    this.statesTimer ??= setInterval(() => void this.askStates(), this.options.statePollMs ?? 1000);
    void this.submit(run);
    return run;
  }

  async close(): Promise<void> {
    clearInterval(this.filesTimer);
    clearInterval(this.statesTimer);
    this.filesTimer = this.statesTimer = undefined;
    // Runs nobody waits for any more (the build stopped without them): not left running unobserved.
    const left = [...this.runs.values()].filter((run) => run.jobId !== undefined);
    this.runs.clear();
    await Promise.all([
      ...left.map((run) => this.slurm.cancel(run.jobId!, "all").catch(() => undefined)),
      ...this.removals,
    ]);
    await this.options.local?.close?.();
  }

  private async submit(run: SlurmRun): Promise<void> {
    const { request, files } = run;
    let jobId: string;
    try {
      await mkdir(files.dir, { recursive: true });
      await writeFile(files.request, toJsonString(JobRunRequestSchema, request));
      await writeFile(files.script, batchScript(request, files, this.options.wrapper), { mode: 0o755 });
      await writeFile(files.events, "");
      const label = request.task?.job?.label ?? "";
      jobId = await this.slurm.submit(
        files.script,
        sbatchOptions(request, files, this.options.resourcesOf?.(label), {
          partition: this.options.partition,
          extraArgs: this.options.sbatchArgs,
        }),
      );
    } catch (error) {
      run.submitFailed((error as Error).message);
      return;
    }
    run.submitted(jobId);
  }

  private async readFiles(): Promise<void> {
    if (this.readingFiles) return;
    this.readingFiles = true;
    try {
      const runs = [...this.runs.values()].filter((run) => run.jobId !== undefined && !run.settled);
      await Promise.all(
        runs.map(async (run) => {
          try {
            run.onLines(await run.events.read(), Date.now());
          } catch (error) {
            this.options.onNote?.(`cannot read ${run.files.events}: ${(error as Error).message}`);
          }
          run.tick(Date.now());
        }),
      );
    } finally {
      this.readingFiles = false;
    }
  }

  private async askStates(): Promise<void> {
    if (this.askingStates) return;
    const runs = [...this.runs.values()].filter((run) => run.jobId !== undefined && !run.settled);
    if (runs.length === 0) return;
    this.askingStates = true;
    try {
      const states = await this.slurm.states(runs.map((run) => run.jobId!));
      const now = Date.now();
      for (const run of runs) run.onState(states.get(run.jobId!), now);
    } catch (error) {
      // SLURM not answering (slurmctld restarting) stops nothing: the runs wait for its next answer.
      this.options.onNote?.(`SLURM did not answer: ${(error as Error).message}`);
    } finally {
      this.askingStates = false;
    }
  }

  private settled(run: SlurmRun, outcome: JobOutcome): void {
    this.runs.delete(run.request.jobRunId);
    if (this.runs.size === 0) {
      clearInterval(this.filesTimer);
      clearInterval(this.statesTimer);
      this.filesTimer = this.statesTimer = undefined;
    }
    if (outcome.kind === "success" && !this.options.keepFiles) {
      const removed = rm(run.files.dir, { recursive: true, force: true })
        .catch(() => undefined)
        .finally(() => this.removals.delete(removed));
      this.removals.add(removed);
    }
  }
}
