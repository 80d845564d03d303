/**
 * @module graph.analyze (seed diagram): walk back from the requested refs to
 * the complete task graph that materializes them.
 *
 * Shape of the loop (iterative, so a 100,000-deep chain cannot overflow the
 * stack):
 *   1. `missing` starts as the requested refs.
 *   2. Dispatch: lookup maps every missing ref to its job; each job's config
 *      is called once for all of its refs this round (jobs run concurrently).
 *   3. Every config output is recorded with its producing task; MATERIALIZE
 *      inputs not seen before become next round's missing refs. QUERY inputs
 *      are recorded on the task and never dispatched.
 *   4. Repeat until nothing is missing, then order the tasks topologically;
 *      a cycle is reported as the chain of refs around it.
 * Cost is linear in partitions + edges: every ref is hashed once (RefTable)
 * and dispatched at most once; edges and producers live in integer arrays.
 */
import { DepType, type JobConfig, type JobGraph, type Task } from "../gen/databuild_pb.ts";
import { eventPayload as event, type EmitEvent } from "../core/build-event.ts";
import { AnalyzeError, ConfigError, CycleError, isDatabuildError } from "../core/errors.ts";
import type { Graph } from "../core/graph.ts";
import {
  configureOptions,
  type ConfigLimits,
  type ConfigureOptions,
  type JobDefinition,
  type WantedPartition,
} from "../core/job.ts";
import { jobGraph, task } from "../core/messages.ts";
import { assertValidRef, refProblem } from "../core/partition-ref.ts";
import { orderTasks } from "./order-tasks.ts";
import { NONE, RefTable } from "./ref-table.ts";

export interface AnalyzeOptions {
  /** Receives the graph.analyze and job.config diagram events in order. */
  emit?: EmitEvent;
  /**
   * Refs that need no producer (already available): they are neither
   * dispatched nor walked back from, so the plan is the smallest that
   * materializes the request. Tasks whose MATERIALIZE inputs include such a
   * ref simply depend on nothing for it.
   */
  isAvailable?: (ref: string) => boolean;
  /**
   * Cancels the analysis: the running config calls are stopped (a command's
   * whole process group), and analyze throws AnalyzeCancelledError.
   */
  signal?: AbortSignal;
  /** Config limits for jobs that set none of their own (the `--config-timeout` and `--config-max-output` flags). */
  configLimits?: Partial<ConfigLimits>;
}

/** The analysis was cancelled (Ctrl-C); its config calls were stopped. */
export class AnalyzeCancelledError extends AnalyzeError {
  readonly code = "CANCELLED";
  constructor(readonly reason: string) {
    super(`planning cancelled: ${reason}`);
  }
}

/** A readable reason from an AbortSignal's `reason` (a string, an Error, or the default DOMException). */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (typeof reason === "string") return reason;
  if (reason instanceof Error && reason.name !== "AbortError") return reason.message;
  return "cancelled";
}

/**
 * Returns the JobGraph whose nodes, run in order, produce `refs`. Throws
 * MalformedRefError for a malformed requested ref, and an AnalyzeError
 * (UnmatchedRefError, AmbiguousRefError, ConfigError, CycleError) when the
 * analysis fails, AnalyzeCancelledError when `options.signal` aborts; the
 * matching events are emitted first. Each config call runs under its job's
 * config limits (ConfigureOptions).
 */
export async function analyze(graph: Graph, refs: readonly string[], options: AnalyzeOptions = {}): Promise<JobGraph> {
  const { emit, isAvailable, signal } = options;
  const requested = [...new Set(refs)];
  requested.forEach(assertValidRef);

  const table = new RefTable();
  const tasks: Task[] = [];
  // MATERIALIZE input ids of task t: edgeIds[edgeStart[t] .. edgeStart[t + 1]).
  const edgeStart: number[] = [0];
  const edgeIds: number[] = [];
  let missing: number[] = [];
  for (const ref of requested) {
    const id = table.intern(ref);
    table.queued[id] = 1;
    if (!isAvailable?.(ref)) missing.push(id);
  }

  try {
    while (missing.length > 0) {
      if (signal?.aborted) throw new AnalyzeCancelledError(abortReason(signal));
      const byJob = dispatch(graph, table, missing, emit);
      const next: number[] = [];
      const settled = await configureRound(byJob, table, emit, options);
      for (const { job, configs, outputIds, inputIds } of settled) {
        let o = 0;
        let k = 0;
        for (const config of configs) {
          const index = tasks.length;
          for (let i = 0; i < config.outputs.length; i++) table.producer[outputIds[o++]!] = index;
          tasks.push(task(job.label, config));
          for (const input of config.inputs) {
            const id = inputIds[k++]!;
            if (input.depType === DepType.QUERY) continue;
            edgeIds.push(id);
            if (table.queued[id] === 1) continue;
            table.queued[id] = 1;
            if (isAvailable?.(table.refs[id]!)) continue;
            next.push(id);
            table.neededBy[id] = job.label;
          }
          edgeStart.push(edgeIds.length);
        }
      }
      // A config may produce more than it was asked for; never dispatch those again.
      missing = next.filter((id) => table.producer[id] === NONE);
    }
    const ordered = orderTasks(tasks.length, { start: edgeStart, inputIds: edgeIds }, table.producer, table.refs);
    if ("cycle" in ordered) throw new CycleError(ordered.cycle);
    const result = jobGraph(
      graph.label,
      requested,
      ordered.order.map((i) => tasks[i]!),
    );
    emit?.(event("jobGraph", { jobGraph: result }));
    return result;
  } catch (error) {
    if (error instanceof CycleError) emit?.(event("cycleDetected", { cycle: error.cycle.map((str) => ({ str })) }));
    if (error instanceof AnalyzeError) emit?.(event("graphAnalyzeFail", { message: error.message }));
    throw error;
  }
}

/** dispatch_missing_partitions: lookup, reporting a failure as events. */
function dispatch(
  graph: Graph,
  table: RefTable,
  missing: readonly number[],
  emit: EmitEvent | undefined,
): Map<JobDefinition, WantedPartition[]> {
  const refs = missing.map((id) => table.refs[id]!);
  try {
    return graph.lookup(refs, table.neededBy[missing[0]!]);
  } catch (error) {
    if (isDatabuildError(error)) {
      emit?.(
        event("partitionDispatchFail", {
          partitionRefs: refs.slice(0, 100).map((str) => ({ str })),
          message: error.message,
        }),
      );
    }
    throw error;
  }
}

/**
 * Calls the config of every job of a round, concurrently. The first failure
 * stops the others (a hung config must not hold up an analysis that has
 * already failed) and is thrown once every call has settled, so no
 * job.config events arrive after the analysis has reported its failure.
 */
async function configureRound(
  byJob: Map<JobDefinition, WantedPartition[]>,
  table: RefTable,
  emit: EmitEvent | undefined,
  options: AnalyzeOptions,
): Promise<ConfigureResult[]> {
  const { signal, configLimits } = options;
  // One signal per job: a round may call hundreds of jobs, too many listeners for one signal.
  const jobs = [...byJob].map(([job, wanted]) => ({ job, wanted, controller: new AbortController() }));
  let stopped = false;
  const stopAll = (reason: unknown) => {
    stopped = true;
    for (const { controller } of jobs) controller.abort(reason);
  };
  const onAbort = () => stopAll(signal!.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  let failure: { error: unknown } | undefined;
  try {
    const settled = await Promise.allSettled(
      jobs.map(({ job, wanted, controller }) =>
        configureJob(job, wanted, table, emit, configureOptions(job, configLimits, controller.signal)).catch(
          (error: unknown) => {
            if (!failure && !stopped) {
              failure = { error };
              stopAll(`the config of job "${job.label}" failed`);
            }
            throw error;
          },
        ),
      ),
    );
    if (signal?.aborted) throw new AnalyzeCancelledError(abortReason(signal));
    if (failure) throw failure.error;
    const rejected = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (rejected) throw rejected.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<ConfigureResult>).value);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

interface ConfigureResult {
  job: JobDefinition;
  configs: JobConfig[];
  /** Ref ids of every config's outputs, then of every config's inputs, in order. */
  outputIds: number[];
  inputIds: number[];
}

/**
 * One job.config run: arg validation, the config call, the contract check,
 * and their events. A broken contract is a config failure like a throw.
 */
async function configureJob(
  job: JobDefinition,
  wanted: WantedPartition[],
  table: RefTable,
  emit: EmitEvent | undefined,
  options: ConfigureOptions,
): Promise<ConfigureResult> {
  const refs = emit ? wanted.map((w) => ({ str: w.ref })) : [];
  const jobLabel = { label: job.label };
  // Lookup already proved each ref matches one of the job's patterns.
  emit?.(event("argValidateSuccess", { job: jobLabel, partitionRefs: refs }));
  let result: ConfigureResult;
  try {
    const configs = await job.configure(wanted, options);
    if (!Array.isArray(configs))
      throw new ConfigError(
        job.label,
        wanted.map((w) => w.ref),
        "config did not return a list of job configs",
      );
    result = { job, configs, outputIds: [], inputIds: [] };
    const problem = checkContract(job, wanted, result, table);
    if (problem)
      throw new ConfigError(
        job.label,
        wanted.map((w) => w.ref),
        problem,
      );
  } catch (error) {
    const failure =
      error instanceof ConfigError
        ? error
        : new ConfigError(
            job.label,
            wanted.map((w) => w.ref),
            error instanceof Error ? error.message : String(error),
            "",
            { cause: error },
          );
    emit?.(
      event("configFail", { job: jobLabel, partitionRefs: refs, message: failure.problem, stderr: failure.stderr }),
    );
    emit?.(event("jobConfigFail", { job: jobLabel, partitionRefs: refs, message: failure.message }));
    throw failure;
  }
  emit?.(event("configSuccess", { job: jobLabel, partitionRefs: refs, configCount: result.configs.length }));
  return result;
}

/**
 * What breaks the config contract, if anything: every output is a valid ref
 * this job produces, no ref is produced twice (in this call or an earlier
 * round), every wanted ref is produced, and every input ref is valid. Fills
 * `result`'s ref ids on the way; each distinct ref is validated once, when
 * first interned.
 */
function checkContract(
  job: JobDefinition,
  wanted: readonly WantedPartition[],
  result: ConfigureResult,
  table: RefTable,
): string | undefined {
  const stamp = table.nextStamp();
  const wantedIds = wanted.map((w) => table.intern(w.ref));
  for (const id of wantedIds) table.wantedMark[id] = stamp;
  const fresh = (ref: string): number => {
    const before = table.size;
    const id = table.intern(ref);
    return table.size > before ? -id - 1 : id;
  };
  for (const config of result.configs) {
    if (config.outputs.length === 0) return "a returned config has no outputs";
    for (const output of config.outputs) {
      const ref = output.str;
      let id = fresh(ref);
      if (id < 0) {
        id = -id - 1;
        const problem = refProblem(ref);
        if (problem) return `output ref ${JSON.stringify(ref)} is malformed: ${problem}`;
      }
      if (table.producedMark[id] === stamp || table.producer[id] !== NONE) {
        return `partition ${JSON.stringify(ref)} is produced by more than one config`;
      }
      if (table.wantedMark[id] !== stamp && !job.outputs.some((p) => p.match(ref))) {
        return `output ${JSON.stringify(ref)} does not match the job's output patterns (${job.outputs.map((p) => p.source).join(", ")})`;
      }
      table.producedMark[id] = stamp;
      result.outputIds.push(id);
    }
    for (const input of config.inputs) {
      const ref = input.partitionRef?.str ?? "";
      let id = fresh(ref);
      if (id < 0) {
        id = -id - 1;
        const problem = refProblem(ref);
        if (problem) return `input ref ${JSON.stringify(ref)} is malformed: ${problem}`;
      }
      result.inputIds.push(id);
    }
  }
  const unproduced = wanted.filter((_, i) => table.producedMark[wantedIds[i]!] !== stamp);
  if (unproduced.length === 0) return undefined;
  const shown = unproduced
    .slice(0, 5)
    .map((w) => JSON.stringify(w.ref))
    .join(", ");
  return `requested partition ${shown}${unproduced.length > 5 ? ` and ${unproduced.length - 5} more` : ""} not in the outputs of any returned config`;
}
