/**
 * @module The exec wrapper (SPEC 3.2, job.exec diagram): job runners for commands and in-process functions.
 */
export { FunctionJobRunner } from "./function-runner.ts";
export { JobRunners } from "./job-runners.ts";
export { DEFAULT_KILL_GRACE_MS, DRAIN_MS, ProcessJobRunner, type ProcessRunnerOptions } from "./process-runner.ts";
export { MAX_LINE_CHARS } from "./line-splitter.ts";
export {
  runWrapperCommand,
  WRAPPER_INVALID_REQUEST,
  WRAPPER_JOB_FAILED,
  WRAPPER_OK,
  type SignalSource,
  type TextSink,
  type WrapperCommandOptions,
} from "./wrapper-command.ts";
