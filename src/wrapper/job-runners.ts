/**
 * @module JobRunners: the JobRunner that runs function jobs in process and command jobs as child processes.
 */
import type { BuildEvent, JobRunRequest } from "../gen/databuild_pb.ts";
import type { JobRunner, RunningJob } from "../core/job-runner.ts";
import type { FunctionExec } from "../core/job.ts";
import { FunctionJobRunner } from "./function-runner.ts";
import { ProcessJobRunner, type ProcessRunnerOptions } from "./process-runner.ts";

/** Dispatches on `fn`: given, FunctionJobRunner runs it; absent, ProcessJobRunner runs `request.command`. */
export class JobRunners implements JobRunner {
  private readonly processes: JobRunner;
  private readonly functions: JobRunner;

  constructor(options: { processes?: JobRunner; functions?: JobRunner; processOptions?: ProcessRunnerOptions } = {}) {
    this.processes = options.processes ?? new ProcessJobRunner(options.processOptions);
    this.functions = options.functions ?? new FunctionJobRunner();
  }

  start(request: JobRunRequest, emit: (event: BuildEvent) => void, fn?: FunctionExec): RunningJob {
    return fn ? this.functions.start(request, emit, fn) : this.processes.start(request, emit);
  }
}
