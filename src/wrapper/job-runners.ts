/**
 * @module JobRunners: the JobRunner that runs function jobs in process and command jobs as child processes.
 */
import type { BuildEvent, JobRunRequest } from "../gen/databuild_pb.ts";
import type { JobRunner, RunningJob } from "../core/job-runner.ts";
import type { FunctionExec } from "../core/job.ts";
import { FunctionJobRunner } from "./function-runner.ts";
import { IsolatedFunctionRunner } from "./isolated/isolated-function-runner.ts";
import { ProcessJobRunner, type ProcessRunnerOptions } from "./process-runner.ts";

export interface JobRunnersOptions {
  readonly processes?: JobRunner;
  readonly functions?: JobRunner;
  readonly processOptions?: ProcessRunnerOptions;
  /**
   * The graph file the function jobs come from: they then run isolated on
   * worker threads (IsolatedFunctionRunner). Without it (a graph built in
   * code, not loaded from a file) they run on databuild's own thread.
   */
  readonly graphFile?: string;
}

/**
 * Dispatches on `fn`: given, the function runner runs it (isolated when the
 * graph came from a file); absent, ProcessJobRunner runs `request.command`.
 */
export class JobRunners implements JobRunner {
  private readonly processes: JobRunner;
  private readonly functions: JobRunner;

  constructor(options: JobRunnersOptions = {}) {
    this.processes = options.processes ?? new ProcessJobRunner(options.processOptions);
    this.functions =
      options.functions ??
      (options.graphFile ? new IsolatedFunctionRunner(options.graphFile) : new FunctionJobRunner());
  }

  warm(functionRuns: number): void {
    this.functions.warm?.(functionRuns);
  }

  async close(): Promise<void> {
    await Promise.all([this.processes.close?.(), this.functions.close?.()]);
  }

  start(request: JobRunRequest, emit: (event: BuildEvent) => void, fn?: FunctionExec): RunningJob {
    return fn ? this.functions.start(request, emit, fn) : this.processes.start(request, emit);
  }
}
