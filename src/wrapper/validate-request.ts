/**
 * @module The wrapper_validate_config step: what must hold of a JobRunRequest before its job is launched.
 */
import type { JobRunRequest } from "../gen/databuild_pb.ts";
import { refProblem } from "../core/partition-ref.ts";

/**
 * Returns what is wrong with `request`, or undefined when it can run: a job
 * label, build request and job run ids, a config with at least one output,
 * valid output and input refs, and (when `needsCommand`) a non-empty
 * command. Arguments and environment must be representable in execve(2):
 * no NUL characters, and variable names without "=".
 */
export function requestProblem(request: JobRunRequest, needsCommand: boolean): string | undefined {
  const task = request.task;
  if (!task) return "the request has no task";
  if (!task.job?.label) return "the task has no job label";
  const config = task.config;
  if (!config) return `the task of job "${task.job.label}" has no config`;
  if (!request.buildRequestId) return "the request has no build_request_id";
  if (!request.jobRunId) return "the request has no job_run_id";
  if (config.outputs.length === 0) return "the config has no outputs: a job run must produce at least one partition";
  for (const [i, output] of config.outputs.entries()) {
    const problem = refProblem(output.str);
    if (problem) return `output ${i + 1} (${JSON.stringify(output.str)}) is not a valid partition ref: ${problem}`;
  }
  for (const [i, input] of config.inputs.entries()) {
    if (!input.partitionRef) return `input ${i + 1} has no partition_ref`;
    const problem = refProblem(input.partitionRef.str);
    if (problem) {
      return `input ${i + 1} (${JSON.stringify(input.partitionRef.str)}) is not a valid partition ref: ${problem}`;
    }
  }
  if (needsCommand) {
    if (request.command.length === 0 || request.command[0] === "") return "the request has no command to run";
    const arg = [...request.command, ...config.args].find((a) => a.includes("\0"));
    if (arg !== undefined) return `argument ${JSON.stringify(arg)} contains a NUL character`;
    for (const [name, value] of Object.entries(config.env)) {
      if (name === "" || name.includes("=") || name.includes("\0")) {
        return `environment variable name ${JSON.stringify(name)} is empty or contains "=" or NUL`;
      }
      if (value.includes("\0")) return `environment variable ${name} contains a NUL character`;
    }
  }
  return undefined;
}
