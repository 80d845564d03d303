/**
 * @module PlanBuilder: the tasks planned so far, in creation order, as typed
 * arrays; `build` orders them (order-tasks.ts) into a Plan.
 */
import { CycleError } from "../core/errors.ts";
import type { CallTasks } from "./call-tasks.ts";
import { IntList } from "./int-list.ts";
import { orderTasks } from "./order-tasks.ts";
import { Plan } from "./plan.ts";
import type { RefTable } from "./ref-table.ts";

export class PlanBuilder {
  private readonly taskJob = new IntList();
  private readonly outputStart = new IntList();
  private readonly outputIds = new IntList();
  private readonly inputStart = new IntList();
  private readonly inputIds = new IntList();
  private readonly argStart = new IntList();
  private readonly args: string[] = [];
  private readonly envs = new Map<number, Record<string, string>>();

  constructor(private readonly table: RefTable) {
    this.outputStart.push(0);
    this.inputStart.push(0);
    this.argStart.push(0);
  }

  get size(): number {
    return this.taskJob.length;
  }

  /**
   * Appends a call's tasks: each output's producer is set, and `onInput` sees
   * each input id (QUERY ones as ~id) with the index of the job that needs it.
   */
  add(call: CallTasks): void {
    const { producer } = this.table;
    const first = this.size;
    let o = 0;
    for (let t = 0; t < call.count; t++) {
      const task = first + t;
      const end = call.outputEnd.get(t);
      for (; o < end; o++) producer[call.outputIds.get(o)] = task;
      this.taskJob.push(call.jobIndex);
      this.outputStart.push(this.outputIds.length + end);
      this.inputStart.push(this.inputIds.length + call.inputEnd.get(t));
      this.argStart.push(this.args.length + call.argEnd.get(t));
    }
    this.outputIds.append(call.outputIds);
    this.inputIds.append(call.inputIds);
    for (const arg of call.args) this.args.push(arg);
    for (const [t, env] of call.envs) this.envs.set(first + t, env);
  }

  /** Orders the tasks; throws CycleError when the MATERIALIZE edges have a cycle. */
  build(label: string, requested: readonly string[], jobs: readonly string[]): Plan {
    const n = this.size;
    const outputStart = this.outputStart.view();
    const outputIds = this.outputIds.view();
    const inputStart = this.inputStart.view();
    const inputIds = this.inputIds.view();
    const argStart = this.argStart.view();
    const ordered = orderTasks(n, { start: inputStart, inputIds }, this.table.producer, this.table.refs);
    if ("cycle" in ordered) throw new CycleError(ordered.cycle);
    const order = ordered.order;
    // Permute every array into dependency order.
    const taskJob = new Int32Array(n);
    const outStart = new Int32Array(n + 1);
    const outIds = new Int32Array(outputIds.length);
    const inStart = new Int32Array(n + 1);
    const inIds = new Int32Array(inputIds.length);
    const argFirst = new Int32Array(n + 1);
    const args = new Array<string>(this.args.length);
    const envs = new Map<number, Record<string, string>>();
    const job = this.taskJob.view();
    let o = 0;
    let i = 0;
    let a = 0;
    for (let p = 0; p < n; p++) {
      const t = order[p]!;
      taskJob[p] = job[t]!;
      for (let e = outputStart[t]!, end = outputStart[t + 1]!; e < end; e++) outIds[o++] = outputIds[e]!;
      for (let e = inputStart[t]!, end = inputStart[t + 1]!; e < end; e++) inIds[i++] = inputIds[e]!;
      for (let e = argStart[t]!, end = argStart[t + 1]!; e < end; e++) args[a++] = this.args[e]!;
      outStart[p + 1] = o;
      inStart[p + 1] = i;
      argFirst[p + 1] = a;
      if (this.envs.size > 0) {
        const env = this.envs.get(t);
        if (env) envs.set(p, env);
      }
    }
    return new Plan(label, requested, {
      jobs,
      refs: this.table.refs,
      taskJob,
      outputStart: outStart,
      outputIds: outIds,
      inputStart: inStart,
      inputIds: inIds,
      argStart: argFirst,
      args,
      envs,
    });
  }
}
