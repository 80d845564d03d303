/**
 * @module `databuild compile --bash`: a JobGraph as a standalone bash script
 * (the seed's compile.bash) that runs each task's exec command the way the
 * exec wrapper does (SPEC 3.2), in dependency order, optionally several at
 * once, with neither Node nor databuild on the host.
 *
 * The script is data (one array entry per task: job, outputs, how many
 * tasks it waits for, which tasks wait for it) plus one function per task
 * plus a fixed scheduler: a ready queue, at most N tasks running, and on
 * each end the tasks it unblocks. Linear in tasks + edges, like the plan.
 */
import { toJsonString } from "@bufbuild/protobuf";
import { DepType, JobConfigSchema, type JobGraph, type Task } from "../gen/databuild_pb.ts";
import type { Graph } from "../core/graph.ts";
import type { CommandExec } from "../core/job.ts";
import { InProcessJobsError } from "./compile-errors.ts";
import { isShellVariableName, shellQuoted, shellWord } from "./shell-quote.ts";

export interface BashScriptOptions {
  /** The graph's folder: task folders under it are written relative to `$root`, so DATABUILD_ROOT can move them. */
  readonly root: string;
  /** The graph file, for the header. */
  readonly graphFile?: string;
  /** The refs compiled, for the header. */
  readonly requested: readonly string[];
  /** Tasks at once unless the script is run with `-j N`. */
  readonly parallel: number;
  /** Seconds a job that passed its time limit has between SIGTERM and SIGKILL. */
  readonly killGraceSeconds: number;
  /** databuild's version, for the header. */
  readonly version: string;
}

/** Outputs shown per task in messages: a fan-out of thousands is summarized. */
const OUTPUTS_SHOWN = 3;

/**
 * The script for `jobGraph` (its nodes in dependency order, as analyze
 * returns them). Throws InProcessJobsError when a task's job is an
 * in-process TypeScript function: only commands can run without databuild.
 */
export function bashScript(graph: Graph, jobGraph: JobGraph, options: BashScriptOptions): string {
  const tasks = jobGraph.nodes;
  const execs = tasks.map((task) => graph.job(task.job!.label)?.exec);
  const inProcess = tasks.filter((_, i) => execs[i]?.kind !== "command");
  if (inProcess.length > 0) throw new InProcessJobsError(inProcess);

  const producer = new Map<string, number>();
  tasks.forEach((task, i) => task.config!.outputs.forEach((o) => producer.set(o.str, i)));
  const waitsFor: number[] = [];
  const unblocks: number[][] = tasks.map(() => []);
  tasks.forEach((task, i) => {
    const upstream = new Set<number>();
    for (const input of task.config!.inputs) {
      if (input.depType === DepType.QUERY) continue;
      const from = producer.get(input.partitionRef!.str);
      if (from !== undefined && from !== i) upstream.add(from);
    }
    waitsFor.push(upstream.size);
    for (const from of upstream) unblocks[from]!.push(i);
  });
  const timeLimits = tasks.map((task) => seconds(graph.job(task.job!.label)?.timeoutMs));
  const needsTimeout = timeLimits.some((limit) => limit !== "0");

  const parts = [
    header(jobGraph, options, needsTimeout),
    PRELUDE.replace("@PARALLEL@", String(options.parallel)),
    needsTimeout ? TIMEOUT_CHECK : "",
    `root=\${DATABUILD_ROOT:-${shellQuoted(options.root)}}\n`,
    BUILD_ID,
    "\n# --- The tasks ---------------------------------------------------------------\n",
    `tasks=${tasks.length}\n`,
    "# Per task: its job, what it produces (for messages), its time limit in seconds (0: none).\n",
    arrayLine(
      "labels",
      tasks.map((t) => shellQuoted(t.job!.label)),
    ),
    arrayLine(
      "produces",
      tasks.map((t) => shellQuoted(shownOutputs(t))),
    ),
    arrayLine("time_limits", timeLimits),
    "# How many tasks each task waits for, and the tasks that wait for it.\n",
    arrayLine("waits_for", waitsFor.map(String)),
    arrayLine(
      "unblocks",
      unblocks.map((list) => (list.length === 0 ? "''" : list.length === 1 ? String(list[0]) : `'${list.join(" ")}'`)),
    ),
    arrayLine(
      "ready",
      waitsFor.flatMap((n, i) => (n === 0 ? [String(i)] : [])),
    ),
    "\n",
    ...tasks.map((task, i) => taskFunction(task, i, tasks.length, execs[i] as CommandExec, timeLimits[i]!, options)),
    SCHEDULER,
  ];
  return parts.join("");
}

function header(jobGraph: JobGraph, options: BashScriptOptions, needsTimeout: boolean): string {
  const count = jobGraph.nodes.length;
  const lines = [
    "#!/usr/bin/env bash",
    "# shellcheck disable=SC2016",
    "# (SC2016: the single-quoted strings below are literal on purpose: the jobs' args, env and JobConfig JSON.)",
    `# Written by \`databuild compile --bash\` (databuild ${options.version}) from graph ${JSON.stringify(jobGraph.label)}`,
    ...(options.graphFile ? [`# (${oneLine(options.graphFile)})`] : []),
    `# ${count} task${count === 1 ? "" : "s"} that materialize:`,
    ...options.requested.slice(0, 20).map((ref) => `#   ${ref}`),
    ...(options.requested.length > 20 ? [`#   (and ${options.requested.length - 20} more)`] : []),
    "#",
    "# It runs each task's exec command as databuild's exec wrapper would: with",
    "# the task's args appended, in the graph file's folder, with the task's",
    "# JobConfig as JSON on stdin and this script's environment plus the task's",
    "# env plus DATABUILD_JOB_LABEL, DATABUILD_BUILD_ID and DATABUILD_JOB_RUN_ID;",
    "# each task after the tasks that produce its inputs. Nothing checks what",
    "# exists already and nothing is recorded: every task runs. It needs bash 4.3",
    `# or later (5.1 to run tasks in parallel)${needsTimeout ? ", `timeout` (coreutils: some jobs have a time limit)" : ""}`,
    "# and the jobs' own programs; neither Node nor databuild.",
    "#",
    "# Usage: SCRIPT [-j N]   run at most N tasks at once (default: @PARALLEL@)",
    "# Environment: DATABUILD_ROOT      the graph's folder (default: below)",
    "#              DATABUILD_BUILD_ID  the build id jobs see (default: compiled-TIME-PID)",
    "# Exit codes: 0 every task succeeded; 1 a job failed (the first failure is named",
    "# with its job, partitions and exit code; no task starts after it, running",
    "# tasks finish); 2 wrong usage, or a program the script needs is missing;",
    "# 130 or 143 interrupted by SIGINT or SIGTERM (the running jobs get SIGTERM).",
  ];
  return lines.join("\n").replace("@PARALLEL@", String(options.parallel)) + "\n";
}

/** Settings, arguments and the checks every script makes first. */
const PRELUDE = `set -uo pipefail

prog=\${0##*/}
note() { printf '%s: %s\\n' "$prog" "$*" >&2; }

if ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] < 403)); then
  note "needs bash 4.3 or later; this is bash $BASH_VERSION"
  exit 2
fi

parallel=@PARALLEL@
while (($# > 0)); do
  case $1 in
    -j | --parallel)
      if [[ ! \${2:-} =~ ^[1-9][0-9]*$ ]]; then
        note "$1 needs a positive whole number, got '\${2:-}'"
        exit 2
      fi
      parallel=$2
      shift 2
      ;;
    -h | --help)
      printf 'usage: %s [-j N]   run at most N tasks at once (default: %s)\\n' "$prog" "$parallel"
      exit 0
      ;;
    *)
      note "unknown argument '$1' (usage: $prog [-j N])"
      exit 2
      ;;
  esac
done
# wait -n -p (bash 5.1) tells which task ended; without it, one task at a time.
wait_p=1
if ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] < 501)); then
  wait_p=0
  if ((parallel > 1)); then
    note "bash $BASH_VERSION cannot tell which of several tasks ended (wait -p needs 5.1): running one task at a time"
    parallel=1
  fi
fi
`;

const TIMEOUT_CHECK = `if ! command -v timeout >/dev/null; then
  note "some jobs have a time limit, which needs the timeout program (coreutils); it is not on PATH"
  exit 2
fi
`;

const BUILD_ID = `printf -v started '%(%Y%m%dT%H%M%S)T' -1
export DATABUILD_BUILD_ID=\${DATABUILD_BUILD_ID:-compiled-$started-$$}
`;

/** One task: a function run in a background subshell, which becomes the job's process (exec). */
function taskFunction(
  task: Task,
  index: number,
  count: number,
  exec: CommandExec,
  timeLimit: string,
  options: BashScriptOptions,
): string {
  const config = task.config!;
  const label = task.job!.label;
  const exports: string[] = [];
  const viaEnv: string[] = [];
  for (const [name, value] of Object.entries(config.env)) {
    if (isShellVariableName(name)) exports.push(`${name}=${shellWord(value)}`);
    else viaEnv.push(shellWord(`${name}=${value}`));
  }
  // The wrapper's own variables win over the config's env (process-runner.ts).
  exports.push(`DATABUILD_JOB_LABEL=${shellWord(label)}`, `DATABUILD_JOB_RUN_ID="$DATABUILD_BUILD_ID-${index + 1}"`);
  const argv = [...exec.command, ...config.args].map(shellWord);
  const prefix = [
    ...(viaEnv.length > 0 ? ["env", ...viaEnv] : []),
    ...(timeLimit !== "0" ? ["timeout", "-k", `${options.killGraceSeconds}s`, `${timeLimit}s`] : []),
  ];
  const stdin = shellQuoted(toJsonString(JobConfigSchema, config));
  return [
    `# Task ${index + 1} of ${count}: ${oneLine(label)} ${oneLine(shownOutputs(task))}`,
    `task_${index}() {`,
    `  cd -- ${folder(exec.cwd, options.root)} || exit`,
    `  export ${exports.join(" ")}`,
    `  exec ${[...prefix, ...argv].join(" ")} < <(printf %s ${stdin})`,
    "}",
    "",
  ].join("\n");
}

/** The scheduler: start what is ready (at most $parallel), wait for one to end, unblock its dependents. */
const SCHEDULER = `
# --- Running them -------------------------------------------------------------
declare -A running=() # pid -> task
next=0 succeeded=0 failures=0 first_failure=-1 first_status=0 stop='' interrupted=0

on_signal() {
  interrupted=1
  local pid how=TERM
  if [[ -n $stop ]]; then how=KILL; fi
  stop=$1
  note "received SIG$1: sending SIG$how to the running tasks"
  for pid in "\${!running[@]}"; do kill "-$how" -- "-$pid" 2>/dev/null; done
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

# How a task's job ended, from its exit status.
ended_how() {
  local i=$1 status=$2
  if ((status == 124)) && [[ \${time_limits[i]} != 0 ]]; then
    printf 'timed out after %s s' "\${time_limits[i]}"
  elif ((status > 128)); then
    printf 'was killed by SIG%s' "$(kill -l $((status - 128)))"
  else
    printf 'exited with code %s' "$status"
  fi
}

describe() {
  printf 'job "%s" (task %s of %s: %s)' "\${labels[$1]}" $(($1 + 1)) "$tasks" "\${produces[$1]}"
}

# A task's process ended with this status: count it, and free what waits for it.
task_ended() {
  local pid=$1 status=$2 i j
  i=\${running[$pid]}
  unset "running[$pid]"
  if ((status == 0)); then
    succeeded=$((succeeded + 1))
    for j in \${unblocks[i]}; do
      waits_for[j]=$((waits_for[j] - 1))
      if ((waits_for[j] == 0)); then ready+=("$j"); fi
    done
    return
  fi
  failures=$((failures + 1))
  note "$(describe "$i") $(ended_how "$i" "$status")"
  if ((first_failure == -1)); then
    first_failure=$i first_status=$status
    if ((\${#running[@]} > 0)); then note "starting no more tasks; waiting for the \${#running[@]} running"; fi
  fi
}

while :; do
  while [[ $first_failure == -1 && -z $stop ]] && ((\${#running[@]} < parallel && next < \${#ready[@]})); do
    i=\${ready[next]}
    next=$((next + 1))
    note "[$((succeeded + failures + \${#running[@]} + 1))/$tasks] \${labels[i]} \${produces[i]}"
    # Job control only while forking: the task gets a process group, the script reports no job status.
    set -m
    "task_$i" &
    running[$!]=$i
    set +m
  done
  if ((\${#running[@]} == 0)); then break; fi
  interrupted=0
  if ((wait_p)); then
    pid=''
    wait -n -p pid
    status=$?
    pid=\${pid:-}
    if [[ -n $pid && -n \${running[$pid]:-} ]]; then task_ended "$pid" "$status"; fi
  else
    for pid in "\${!running[@]}"; do :; done
    wait "$pid"
    status=$?
    # Unless a signal interrupted the wait (the task still runs; its status waits for the next wait).
    if ((!interrupted)); then task_ended "$pid" "$status"; fi
  fi
  # Tasks whose end that wait did not report (ended together, or killed by a signal before it).
  for pid in "\${!running[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      task_ended "$pid" $?
    fi
  done
done

not_run=$((tasks - succeeded - failures))
if [[ -n $stop ]]; then
  note "interrupted by SIG$stop: $succeeded of $tasks tasks succeeded, $not_run not run"
  case $stop in
    INT) exit 130 ;;
    HUP) exit 129 ;;
    *) exit 143 ;;
  esac
fi
if ((first_failure >= 0)); then
  note "failed: $(describe "$first_failure") $(ended_how "$first_failure" "$first_status"); $succeeded of $tasks tasks succeeded, $not_run not run"
  exit 1
fi
note "all $tasks tasks succeeded"
`;

/** A bash array assignment, a few entries per line. */
function arrayLine(name: string, words: readonly string[]): string {
  if (words.length === 0) return `${name}=()\n`;
  const lines: string[] = [];
  let line = "";
  for (const word of words) {
    if (line.length > 0 && line.length + word.length > 100) {
      lines.push(line);
      line = "";
    }
    line += (line ? " " : "") + word;
  }
  lines.push(line);
  return `${name}=(\n  ${lines.join("\n  ")}\n)\n`;
}

/** A task's folder: under the graph's folder, relative to `$root`; elsewhere, as it is. */
function folder(cwd: string, root: string): string {
  if (cwd === root || cwd === "") return '"$root"';
  const base = root.endsWith("/") ? root : `${root}/`;
  if (cwd.startsWith(base)) return `"$root"/${shellWord(cwd.slice(base.length))}`;
  return shellWord(cwd);
}

function shownOutputs(task: Task): string {
  const outputs = task.config!.outputs.map((o) => o.str);
  const shown = outputs.slice(0, OUTPUTS_SHOWN).join(" ");
  return outputs.length > OUTPUTS_SHOWN ? `${shown} (+${outputs.length - OUTPUTS_SHOWN} more)` : shown;
}

/** Milliseconds as the seconds `timeout` takes ("60", "0.5"); "0" for none. */
function seconds(ms: number | undefined): string {
  if (ms === undefined || ms <= 0) return "0";
  return String(Math.round(ms) / 1000);
}

/** For comments: a value on one line. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}
