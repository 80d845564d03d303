/**
 * @module BuildPlan: what we intend to build and which tasks are ready
 * (ninja's Plan). Pure bookkeeping over a JobGraph: the build loop
 * (build-run.ts) decides when to start, reap and report.
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
  private readonly taskList: Task[] = [];
  private readonly state: TaskState[] = [];
  private readonly unfinishedInputs: number[] = [];
  private readonly dependents: number[][] = [];
  /** The planned task that produces each output. */
  readonly producerOf = new Map<string, number>();
  /** Partitions another build request is producing, with the tasks waiting on each. */
  private readonly externalDependents = new Map<string, number[]>();
  private readonly ready: number[] = [];
  private readyHead = 0;
  private readonly counts = [0, 0, 0, 0, 0, 0];

  /**
   * `external`: inputs this build waits on instead of producing (delegated to
   * another build request); a task needing one waits until it is resolved.
   */
  constructor(jobGraph: JobGraph, external: ReadonlySet<string> = new Set()) {
    this.addTasks(jobGraph, external);
  }

  get tasks(): readonly Task[] {
    return this.taskList;
  }

  get size(): number {
    return this.taskList.length;
  }

  /**
   * Adds tasks (a takeover: this build now produces partitions it waited on).
   * A new task that produces a pending external partition takes over its
   * waiting tasks; inputs produced by failed tasks block the new task.
   * Returns the indexes of tasks that are blocked from the start.
   */
  addTasks(jobGraph: JobGraph, external: ReadonlySet<string> = new Set()): number[] {
    const first = this.taskList.length;
    const added = jobGraph.nodes;
    for (const task of added) {
      const i = this.taskList.length;
      this.taskList.push(task);
      this.state.push(TaskState.Waiting);
      this.unfinishedInputs.push(0);
      this.dependents.push([]);
      this.counts[TaskState.Waiting]!++;
      for (const output of task.config!.outputs) {
        this.producerOf.set(output.str, i);
        const waiting = this.externalDependents.get(output.str);
        if (waiting) {
          this.dependents[i]!.push(...waiting);
          this.externalDependents.delete(output.str);
        }
      }
    }
    const blocked: number[] = [];
    for (let i = first; i < this.taskList.length; i++) {
      const producers = new Set<number>();
      let blockedByFailure = false;
      for (const input of this.taskList[i]!.config!.inputs) {
        if (input.depType === DepType.QUERY) continue;
        const ref = input.partitionRef!.str;
        const producer = this.producerOf.get(ref);
        if (producer !== undefined && producer !== i) {
          const state = this.state[producer]!;
          if (state === TaskState.Failed || state === TaskState.Blocked) blockedByFailure = true;
          else if (state !== TaskState.Done) producers.add(producer);
        } else if (producer === undefined && (external.has(ref) || this.externalDependents.has(ref))) {
          const waiting = this.externalDependents.get(ref) ?? [];
          if (!waiting.includes(i)) {
            waiting.push(i);
            this.unfinishedInputs[i]!++;
          }
          this.externalDependents.set(ref, waiting);
        }
      }
      this.unfinishedInputs[i]! += producers.size;
      for (const p of producers) this.dependents[p]!.push(i);
      if (blockedByFailure) blocked.push(i);
    }
    // Partitions awaited by the request itself rather than by a task (a delegated requested ref).
    for (const ref of external)
      if (!this.producerOf.has(ref) && !this.externalDependents.has(ref)) this.externalDependents.set(ref, []);
    for (const b of blocked) if (this.state[b] === TaskState.Waiting) blocked.push(...this.block(b));
    for (let i = first; i < this.taskList.length; i++)
      if (this.unfinishedInputs[i] === 0 && this.state[i] === TaskState.Waiting) this.setState(i, TaskState.Ready);
    return [...new Set(blocked)];
  }

  count(state: TaskState): number {
    return this.counts[state]!;
  }

  stateOf(task: number): TaskState {
    return this.state[task]!;
  }

  /** External partitions some task still waits on. */
  pendingExternals(): string[] {
    return [...this.externalDependents.keys()];
  }

  get externalCount(): number {
    return this.externalDependents.size;
  }

  isPendingExternal(ref: string): boolean {
    return this.externalDependents.has(ref);
  }

  /** The other build request finished `ref`: returns the tasks that became ready. */
  externalAvailable(ref: string): number[] {
    const waiting = this.externalDependents.get(ref) ?? [];
    this.externalDependents.delete(ref);
    return this.release(waiting);
  }

  /** The other build request failed `ref`: returns every task now blocked. */
  externalFailed(ref: string): number[] {
    const waiting = this.externalDependents.get(ref) ?? [];
    this.externalDependents.delete(ref);
    const blocked: number[] = [];
    for (const d of waiting) if (this.state[d] === TaskState.Waiting) blocked.push(...this.block(d));
    return blocked;
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
    return this.release(this.dependents[task]!);
  }

  /** Marks a task failed; returns every task downstream of it, now blocked. */
  fail(task: number): number[] {
    this.setState(task, TaskState.Failed);
    const blocked: number[] = [];
    for (const d of this.dependents[task]!) {
      if (this.state[d] === TaskState.Waiting || this.state[d] === TaskState.Ready) blocked.push(...this.block(d));
    }
    return blocked;
  }

  /** Marks a task that was never started as not to be run (cancelled): it stays out of every count but Failed. */
  drop(task: number): void {
    if (this.state[task] === TaskState.Waiting || this.state[task] === TaskState.Ready)
      this.setState(task, TaskState.Failed);
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

  /** Blocks `task` and everything downstream of it that has not run; returns them. */
  private block(task: number): number[] {
    const blocked: number[] = [];
    const queue = [task];
    for (let q = 0; q < queue.length; q++) {
      const d = queue[q]!;
      if (this.state[d] !== TaskState.Waiting && this.state[d] !== TaskState.Ready) continue;
      this.setState(d, TaskState.Blocked);
      blocked.push(d);
      queue.push(...this.dependents[d]!);
    }
    return blocked;
  }

  private release(waiting: readonly number[]): number[] {
    const newlyReady: number[] = [];
    for (const d of waiting) {
      if (--this.unfinishedInputs[d]! === 0 && this.state[d] === TaskState.Waiting) {
        this.setState(d, TaskState.Ready);
        newlyReady.push(d);
      }
    }
    return newlyReady;
  }

  private setState(task: number, next: TaskState): void {
    this.counts[this.state[task]!]!--;
    this.counts[next]!++;
    this.state[task] = next;
    if (next === TaskState.Ready) this.ready.push(task);
  }
}
