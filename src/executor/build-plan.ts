/**
 * @module BuildPlan: what we intend to build and which tasks are ready
 * (ninja's Plan). Pure bookkeeping over a JobGraph: the build loop
 * (build-graph.ts) decides when to start, reap and report.
 */
import { DepType, type JobGraph, type Task } from "../gen/databuild_pb.ts";

export enum TaskState {
  Waiting,
  Ready,
  Running,
  Done,
  Failed,
  /** Downstream of a failure: can never run in this build. */
  Blocked,
}

export class BuildPlan {
  readonly tasks: readonly Task[];
  private readonly state: Uint8Array;
  private readonly unfinishedInputs: Int32Array;
  private readonly dependents: number[][];
  /** For each task, the task that produces each of its MATERIALIZE inputs, when planned. */
  readonly producerOf = new Map<string, number>();
  private readonly ready: number[] = [];
  private readyHead = 0;
  private readonly counts = [0, 0, 0, 0, 0, 0];

  constructor(jobGraph: JobGraph) {
    this.tasks = jobGraph.nodes;
    const n = this.tasks.length;
    this.state = new Uint8Array(n);
    this.unfinishedInputs = new Int32Array(n);
    this.dependents = Array.from({ length: n }, () => []);
    this.tasks.forEach((task, i) => {
      for (const output of task.config!.outputs) this.producerOf.set(output.str, i);
    });
    this.tasks.forEach((task, i) => {
      const producers = new Set<number>();
      for (const input of task.config!.inputs) {
        if (input.depType === DepType.QUERY) continue;
        const producer = this.producerOf.get(input.partitionRef!.str);
        if (producer !== undefined && producer !== i) producers.add(producer);
      }
      this.unfinishedInputs[i] = producers.size;
      for (const p of producers) this.dependents[p]!.push(i);
    });
    this.counts[TaskState.Waiting] = n;
    for (let i = 0; i < n; i++) if (this.unfinishedInputs[i] === 0) this.setState(i, TaskState.Ready);
  }

  get size(): number {
    return this.tasks.length;
  }

  count(state: TaskState): number {
    return this.counts[state]!;
  }

  stateOf(task: number): TaskState {
    return this.state[task]! as TaskState;
  }

  /** Pops the next ready task (FIFO, so dependency order is kept), or undefined. */
  nextReady(): number | undefined {
    while (this.readyHead < this.ready.length) {
      const i = this.ready[this.readyHead++]!;
      if (this.state[i] === TaskState.Ready) {
        this.setState(i, TaskState.Running);
        return i;
      }
    }
    return undefined;
  }

  /** Puts a running task back in the ready queue (a retry). */
  retry(task: number): void {
    this.setState(task, TaskState.Ready);
  }

  /** Marks a task done; returns the tasks that became ready. */
  succeed(task: number): number[] {
    this.setState(task, TaskState.Done);
    const newlyReady: number[] = [];
    for (const d of this.dependents[task]!) {
      if (--this.unfinishedInputs[d]! === 0 && this.state[d] === TaskState.Waiting) {
        this.setState(d, TaskState.Ready);
        newlyReady.push(d);
      }
    }
    return newlyReady;
  }

  /** Marks a task failed; returns every task downstream of it, now blocked. */
  fail(task: number): number[] {
    this.setState(task, TaskState.Failed);
    const blocked: number[] = [];
    const queue = [...this.dependents[task]!];
    for (let q = 0; q < queue.length; q++) {
      const d = queue[q]!;
      if (this.state[d] !== TaskState.Waiting && this.state[d] !== TaskState.Ready) continue;
      this.setState(d, TaskState.Blocked);
      blocked.push(d);
      queue.push(...this.dependents[d]!);
    }
    return blocked;
  }

  /** True when nothing runs and nothing can start. */
  isIdle(): boolean {
    return this.counts[TaskState.Running] === 0 && this.counts[TaskState.Ready] === 0;
  }

  /** Tasks still waiting on inputs (with nothing running these can never start). */
  waitingTasks(): number[] {
    const result: number[] = [];
    for (let i = 0; i < this.state.length; i++) if (this.state[i] === TaskState.Waiting) result.push(i);
    return result;
  }

  private setState(task: number, next: TaskState): void {
    this.counts[this.state[task]!]!--;
    this.counts[next]!++;
    this.state[task] = next;
    if (next === TaskState.Ready) this.ready.push(task);
  }
}
