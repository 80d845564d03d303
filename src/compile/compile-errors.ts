/**
 * @module Why a JobGraph cannot be compiled to a script.
 */
import type { Task } from "../gen/databuild_pb.ts";
import { DatabuildError } from "../core/errors.ts";

/** Tasks shown per job in the message. */
const TASKS_SHOWN = 2;

/**
 * The plan has tasks of in-process TypeScript jobs: their exec is a function
 * inside databuild, so no script can run them without it (exit code 2).
 */
export class InProcessJobsError extends DatabuildError {
  readonly code = "IN_PROCESS_JOBS";
  readonly kind = "usage";
  /** The jobs, in plan order, with their tasks' outputs. */
  readonly jobs: ReadonlyMap<string, readonly string[]>;

  constructor(tasks: readonly Task[]) {
    const jobs = new Map<string, string[]>();
    for (const task of tasks) {
      const label = task.job!.label;
      const outputs = task.config!.outputs.map((o) => o.str).join(", ");
      const list = jobs.get(label);
      if (list) list.push(outputs);
      else jobs.set(label, [outputs]);
    }
    const described = [...jobs].map(([label, outputs]) => {
      const shown = outputs.slice(0, TASKS_SHOWN).join("; ");
      const more = outputs.length > TASKS_SHOWN ? `; and ${outputs.length - TASKS_SHOWN} more` : "";
      return `"${label}" (${outputs.length} task${outputs.length === 1 ? "" : "s"}: ${shown}${more})`;
    });
    super(
      `cannot compile: ${jobs.size === 1 ? "job" : "jobs"} ${described.join(", ")} ` +
        `${jobs.size === 1 ? "runs" : "run"} in-process (a TypeScript function), which only databuild can run. ` +
        `Build ${jobs.size === 1 ? "its" : "their"} partitions with \`databuild build\` first and compile with --skip-available, ` +
        `or make ${jobs.size === 1 ? "it a command job" : "them command jobs"} (exec: ["program", "arg", ...])`,
    );
    this.jobs = jobs;
  }
}
