/**
 * @module Plan: the planner's result in compact form. The tasks of a JobGraph
 * in dependency order, as interned ref ids and typed arrays (CSR: the
 * outputs of task t are `outputIds[outputStart[t] .. outputStart[t + 1])`),
 * with no proto object per task or input. Proto messages are made only where
 * a plan leaves the planner: `task(t)` one at a time, `toJobGraph()` whole;
 * the CLI writes its text and JSON straight from the arrays
 * (job-graph-json.ts).
 */
import { DepType, type DataDep, type JobGraph, type Task } from "../gen/databuild_pb.ts";
import { jobGraph, jobLabel, partitionRef } from "../core/messages.ts";

/** The arrays of a plan, in dependency order. */
export interface PlanArrays {
  /** Job label by job index. */
  readonly jobs: readonly string[];
  /** Ref string by id. */
  readonly refs: readonly string[];
  /** The job index of each task. */
  readonly taskJob: Int32Array;
  readonly outputStart: Int32Array;
  readonly outputIds: Int32Array;
  readonly inputStart: Int32Array;
  /** Input ref ids in the config's order; a QUERY input is stored as ~id (negative). */
  readonly inputIds: Int32Array;
  readonly argStart: Int32Array;
  readonly args: readonly string[];
  /** The env of each task that has a non-empty one, by task. */
  readonly envs: ReadonlyMap<number, Readonly<Record<string, string>>>;
}

export class Plan implements PlanArrays {
  readonly jobs: readonly string[];
  readonly refs: readonly string[];
  readonly taskJob: Int32Array;
  readonly outputStart: Int32Array;
  readonly outputIds: Int32Array;
  readonly inputStart: Int32Array;
  readonly inputIds: Int32Array;
  readonly argStart: Int32Array;
  readonly args: readonly string[];
  readonly envs: ReadonlyMap<number, Readonly<Record<string, string>>>;
  private jobGraphMessage: JobGraph | undefined;

  constructor(
    /** The graph's label. */
    readonly label: string,
    /** The requested refs (the JobGraph's outputs), each once. */
    readonly requested: readonly string[],
    arrays: PlanArrays,
  ) {
    this.jobs = arrays.jobs;
    this.refs = arrays.refs;
    this.taskJob = arrays.taskJob;
    this.outputStart = arrays.outputStart;
    this.outputIds = arrays.outputIds;
    this.inputStart = arrays.inputStart;
    this.inputIds = arrays.inputIds;
    this.argStart = arrays.argStart;
    this.args = arrays.args;
    this.envs = arrays.envs;
  }

  /** Number of tasks. */
  get size(): number {
    return this.taskJob.length;
  }

  jobOf(t: number): string {
    return this.jobs[this.taskJob[t]!]!;
  }

  /** The output refs of task t. */
  outputsOf(t: number): string[] {
    const refs: string[] = [];
    for (let e = this.outputStart[t]!; e < this.outputStart[t + 1]!; e++) refs.push(this.refs[this.outputIds[e]!]!);
    return refs;
  }

  /** Task t as a message. */
  task(t: number): Task {
    const { refs, inputIds, args } = this;
    const outputs = [];
    for (let e = this.outputStart[t]!; e < this.outputStart[t + 1]!; e++)
      outputs.push(partitionRef(refs[this.outputIds[e]!]!));
    const inputs: DataDep[] = [];
    for (let e = this.inputStart[t]!; e < this.inputStart[t + 1]!; e++) {
      const id = inputIds[e]!;
      inputs.push({
        $typeName: "databuild.v1.DataDep",
        depType: id < 0 ? DepType.QUERY : DepType.MATERIALIZE,
        partitionRef: partitionRef(refs[id < 0 ? ~id : id]!),
      });
    }
    const env = this.envs.get(t);
    return {
      $typeName: "databuild.v1.Task",
      job: jobLabel(this.jobOf(t)),
      config: {
        $typeName: "databuild.v1.JobConfig",
        outputs,
        inputs,
        args: args.slice(this.argStart[t]!, this.argStart[t + 1]!),
        env: env ? { ...env } : {},
      },
    };
  }

  /** The whole plan as the JobGraph message (made once, then kept). */
  toJobGraph(): JobGraph {
    if (!this.jobGraphMessage) {
      const nodes: Task[] = new Array<Task>(this.size);
      for (let t = 0; t < this.size; t++) nodes[t] = this.task(t);
      this.jobGraphMessage = jobGraph(this.label, this.requested, nodes);
    }
    return this.jobGraphMessage;
  }
}
