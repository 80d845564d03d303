/**
 * @module What each SLURM job runs: a small bash script that starts the exec
 * wrapper on the node with the run's JobRunRequest on stdin and its events
 * going, one JSON line each, to a file on the shared filesystem (the seed's
 * log-based communication: nothing on the node connects back to databuild).
 * And the sbatch options of a run: its name, files, and what the job
 * declares it needs (cpus, memory, time limit).
 */
import type { JobRunRequest } from "../../gen/databuild_pb.ts";
import type { JobResources } from "../../core/resources.ts";

/** The files of one run, in its folder on the shared filesystem. */
export interface RunFiles {
  readonly dir: string;
  readonly request: string;
  readonly script: string;
  readonly events: string;
  /** sbatch --output: the script's and the wrapper's own stdout/stderr (not the job's: that is in the events). */
  readonly output: string;
}

export function runFiles(dir: string): RunFiles {
  return {
    dir,
    request: `${dir}/request.json`,
    script: `${dir}/job.sh`,
    events: `${dir}/events.jsonl`,
    output: `${dir}/slurm.out`,
  };
}

/** `text` as one single-quoted bash word. */
function quoted(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The batch script of one run. `wrapper` is the wrapper's argv on the node. */
export function batchScript(request: JobRunRequest, files: RunFiles, wrapper: readonly string[]): string {
  const label = request.task?.job?.label ?? "";
  return `#!/bin/bash
# databuild job run ${request.jobRunId} (job ${JSON.stringify(label).replace(/[\r\n]/g, " ")}, build request ${request.buildRequestId}),
# submitted by \`databuild build --launcher slurm\`. The exec wrapper runs the job and writes
# its events to events.jsonl, which the build follows.
run_dir=${quoted(files.dir)}
# databuild cancels with \`scancel --batch --signal=TERM\`: the wrapper then stops the job
# (SIGTERM, SIGKILL after the build's --kill-grace) and writes how it ended.
trap 'kill -TERM "$wrapper" 2>/dev/null' TERM
${wrapper.map(quoted).join(" ")} <"$run_dir/request.json" >>"$run_dir/events.jsonl" &
wrapper=$!
while :; do
  wait "$wrapper"
  status=$?
  if ! kill -0 "$wrapper" 2>/dev/null; then break; fi
done
if ((status > 128)); then
  # The wrapper was killed (kill -9, the out-of-memory killer): stop what its job left
  # running, found by its job run id, so the run never goes on unobserved beside its retry.
  for environ in /proc/[0-9]*/environ; do
    if grep -qsxz ${quoted(`DATABUILD_JOB_RUN_ID=${request.jobRunId}`)} "$environ"; then
      pid=\${environ#/proc/}
      kill -KILL "\${pid%/environ}" 2>/dev/null
    fi
  done
  echo "databuild: the wrapper of job run ${request.jobRunId} was killed (exit status $status)" >&2
fi
exit "$status"
`;
}

export interface SbatchSettings {
  readonly partition?: string;
  /** Passed as they are, after databuild's own (so they win). */
  readonly extraArgs?: readonly string[];
}

/**
 * The sbatch options of one run. The time limit is the job's timeout plus
 * the kill grace plus a minute, in whole minutes (SLURM's unit): the
 * wrapper enforces the timeout itself and reports it; SLURM's limit is the
 * backstop for a wrapper that cannot.
 */
export function sbatchOptions(
  request: JobRunRequest,
  files: RunFiles,
  resources: JobResources | undefined,
  settings: SbatchSettings,
): string[] {
  const label = request.task?.job?.label ?? "";
  const options = [
    `--job-name=databuild:${label.replace(/[\s]/g, "_")}`,
    `--output=${files.output}`,
    "--open-mode=append",
    `--chdir=${files.dir}`,
    // databuild decides about retries (--retries): SLURM never runs a job run twice.
    "--no-requeue",
    `--comment=databuild build request ${request.buildRequestId} job run ${request.jobRunId}`,
  ];
  if (settings.partition) options.push(`--partition=${settings.partition}`);
  if (resources?.cpus !== undefined) options.push(`--cpus-per-task=${resources.cpus}`);
  if (resources?.memoryBytes !== undefined) options.push(`--mem=${Math.ceil(resources.memoryBytes / 1024 / 1024)}M`);
  if (request.timeoutMs > 0) {
    const grace = request.killGraceMs || 5000;
    options.push(`--time=${Math.ceil((request.timeoutMs + grace) / 60_000) + 1}`);
  }
  options.push(...(settings.extraArgs ?? []));
  return options;
}
