/**
 * @module CallTasks: the tasks of one config call, as the call feeds them
 * (a ConfigSink), interned into ids at once and checked against the config
 * contract on the way: every output is a valid ref this job produces, no ref
 * is produced twice (in this call or an earlier round), every wanted ref is
 * produced, and every input is a valid ref with a known dep type. Each
 * distinct ref is validated once, when first interned. The calls of a round
 * run concurrently; their tasks join the plan in job order once the round
 * has settled (PlanBuilder.add), so the plan does not depend on which call
 * finished first.
 */
import { DepType } from "../gen/databuild_pb.ts";
import type { ConfigSink } from "../core/config-sink.ts";
import type { JobDefinition } from "../core/job.ts";
import { refProblem } from "../core/partition-ref.ts";
import { IntList } from "./int-list.ts";
import { NONE, type RefTable } from "./ref-table.ts";

export class CallTasks implements ConfigSink {
  /** The first contract problem met, if any (the rest of the call is then ignored). */
  problem: string | undefined;
  /** Tasks fed so far. */
  count = 0;
  /** Output ids of task t: outputIds[outputEnd[t - 1] .. outputEnd[t]), and so on for inputs and args. */
  readonly outputIds = new IntList();
  readonly outputEnd = new IntList();
  /** Input ids; a QUERY input is stored as ~id (negative). */
  readonly inputIds = new IntList();
  readonly inputEnd = new IntList();
  readonly args: string[] = [];
  readonly argEnd = new IntList();
  /** The env of each task that has one, by task. */
  readonly envs = new Map<number, Record<string, string>>();

  /** Where the current part of the call starts in the wanted refs (the planner may call a per-ref config in parts). */
  offset = 0;
  private readonly stamp: number;
  /** The next wanted ref an output is expected to be (batched configs usually answer in order). */
  private cursor = 0;
  private open = false;
  private outputsOfConfig = 0;

  constructor(
    readonly job: JobDefinition,
    readonly jobIndex: number,
    /** The ids of the refs the call is asked for, in order. */
    private readonly wantedIds: Int32Array,
    private readonly table: RefTable,
  ) {
    this.stamp = table.nextStamp();
    for (const id of wantedIds) table.wantedMark[id] = this.stamp;
  }

  config(): void {
    if (this.open) this.close();
    this.open = true;
    this.outputsOfConfig = 0;
  }

  wantedOutput(k: number): void {
    if (this.problem !== undefined) return;
    const id = this.wantedIds[this.offset + k]!;
    this.addOutput(id, this.table.refs[id]!);
  }

  output(ref: string): void {
    if (this.problem !== undefined) return;
    let id: number;
    const c = this.cursor;
    if (c < this.wantedIds.length && this.table.refs[this.wantedIds[c]!] === ref) {
      id = this.wantedIds[c]!;
      this.cursor = c + 1;
    } else {
      id = this.internChecked(ref, "output");
      if (id === NONE) return;
      if (this.table.wantedMark[id] !== this.stamp && !this.job.outputs.some((p) => p.match(ref))) {
        const patterns = this.job.outputs.map((p) => p.source).join(", ");
        this.problem = `output ${JSON.stringify(ref)} does not match the job's output patterns (${patterns})`;
        return;
      }
    }
    this.addOutput(id, ref);
  }

  input(ref: string, depType: DepType): void {
    if (this.problem !== undefined) return;
    if (this.outputsOfConfig === 0) {
      this.problem = NO_OUTPUTS;
      return;
    }
    const id = this.internChecked(ref, "input");
    if (id === NONE) return;
    if (depType === DepType.MATERIALIZE) this.inputIds.push(id);
    else if (depType === DepType.QUERY) this.inputIds.push(~id);
    else this.problem = `input ${JSON.stringify(ref)} has an unknown dep type ${depType} (MATERIALIZE or QUERY)`;
  }

  arg(value: string): void {
    this.args.push(value);
  }

  env(name: string, value: string): void {
    let env = this.envs.get(this.count);
    if (!env) this.envs.set(this.count, (env = {}));
    if (name === "__proto__") Object.defineProperty(env, name, { value, enumerable: true, writable: true });
    else env[name] = value;
  }

  /** Ends the call: returns the contract problem, if any (every wanted ref must have been produced). */
  finish(): string | undefined {
    if (this.open) this.close();
    if (this.problem !== undefined) return this.problem;
    const { producedMark, refs } = this.table;
    const unproduced: string[] = [];
    for (const id of this.wantedIds) if (producedMark[id] !== this.stamp) unproduced.push(refs[id]!);
    if (unproduced.length === 0) return undefined;
    const shown = unproduced
      .slice(0, 5)
      .map((ref) => JSON.stringify(ref))
      .join(", ");
    const more = unproduced.length > 5 ? ` and ${unproduced.length - 5} more` : "";
    return `requested partition ${shown}${more} not in the outputs of any returned config`;
  }

  private addOutput(id: number, ref: string): void {
    const { producedMark, producer } = this.table;
    if (producedMark[id] === this.stamp || producer[id] !== NONE) {
      this.problem = `partition ${JSON.stringify(ref)} is produced by more than one config`;
      return;
    }
    producedMark[id] = this.stamp;
    this.outputIds.push(id);
    this.outputsOfConfig++;
  }

  /** The id of `ref`, or NONE with `problem` set when it is a new, malformed ref. */
  private internChecked(ref: string, what: "output" | "input"): number {
    if (typeof ref !== "string") {
      this.problem = `${what} ref ${JSON.stringify(ref)} is malformed: it is not a string`;
      return NONE;
    }
    const id = this.table.intern(ref);
    if (this.table.added) {
      const problem = refProblem(ref);
      if (problem) {
        this.problem = `${what} ref ${JSON.stringify(ref)} is malformed: ${problem}`;
        return NONE;
      }
    }
    return id;
  }

  private close(): void {
    this.open = false;
    if (this.outputsOfConfig === 0) this.problem ??= NO_OUTPUTS;
    this.outputEnd.push(this.outputIds.length);
    this.inputEnd.push(this.inputIds.length);
    this.argEnd.push(this.args.length);
    this.count++;
  }
}

const NO_OUTPUTS = "a returned config has no outputs";
