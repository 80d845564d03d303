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
import type { JobGraph } from "../gen/databuild_pb.ts";
import { eventPayload as event, type EmitEvent } from "../core/build-event.ts";
import { AnalyzeError, ConfigError, CycleError, isDatabuildError } from "../core/errors.ts";
import type { Graph } from "../core/graph.ts";
import {
  configureOptions,
  wantedPartition,
  type ConfigLimits,
  type ConfigureOptions,
  type JobDefinition,
  type WantedPartition,
} from "../core/job.ts";
import type { OutputPattern } from "../core/output-pattern.ts";
import { feedConfigs } from "../core/config-sink.ts";
import { assertValidRef } from "../core/partition-ref.ts";
import { CallTasks } from "./call-tasks.ts";
import { IntList } from "./int-list.ts";
import type { Plan } from "./plan.ts";
import { PlanBuilder } from "./plan-builder.ts";
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
 * Returns the JobGraph whose nodes, run in order, produce `refs`: the Plan of
 * `analyzePlan` as a message. Throws as `analyzePlan` does.
 */
export async function analyze(graph: Graph, refs: readonly string[], options: AnalyzeOptions = {}): Promise<JobGraph> {
  return (await analyzePlan(graph, refs, options)).toJobGraph();
}

/**
 * Returns the Plan (compact: ids and typed arrays) whose tasks, run in order,
 * produce `refs`. Throws MalformedRefError for a malformed requested ref, and
 * an AnalyzeError (UnmatchedRefError, AmbiguousRefError, ConfigError,
 * CycleError) when the analysis fails, AnalyzeCancelledError when
 * `options.signal` aborts; the matching events are emitted first. Each config
 * call runs under its job's config limits (ConfigureOptions). The JobGraph
 * message is made only for the jobGraph event, when `options.emit` is given.
 */
export async function analyzePlan(graph: Graph, refs: readonly string[], options: AnalyzeOptions = {}): Promise<Plan> {
  const { emit, isAvailable, signal } = options;
  const requested = [...new Set(refs)];
  requested.forEach(assertValidRef);

  const table = new RefTable();
  const builder = new PlanBuilder(table);
  const jobs = new JobIndex();
  let missing = new IntList();
  for (const ref of requested) {
    const id = table.intern(ref);
    table.queued[id] = 1;
    if (!isAvailable?.(ref)) missing.push(id);
  }

  try {
    while (missing.length > 0) {
      if (signal?.aborted) throw new AnalyzeCancelledError(abortReason(signal));
      const round = dispatch(graph, table, jobs, missing.view(), emit);
      const calls = await configureRound(round, table, emit, options);
      for (const call of calls) builder.add(call);
      const next = new IntList();
      const { queued, neededBy, producer, refs: names } = table;
      // The inputs of this round's tasks, with the job needing them (for an unmatched ref's message).
      for (const call of calls) {
        const inputs = call.inputIds.view();
        for (let e = 0; e < inputs.length; e++) {
          const id = inputs[e]!;
          if (id < 0 || queued[id] === 1) continue;
          queued[id] = 1;
          if (isAvailable?.(names[id]!)) continue;
          // A config may produce more than it was asked for; never dispatch those again.
          if (producer[id] !== NONE) continue;
          next.push(id);
          neededBy[id] = call.jobIndex;
        }
      }
      missing = next;
    }
    const plan = builder.build(graph.label, requested, jobs.labels);
    if (emit) emit(event("jobGraph", { jobGraph: plan.toJobGraph() }));
    return plan;
  } catch (error) {
    if (error instanceof CycleError) emit?.(event("cycleDetected", { cycle: error.cycle.map((str) => ({ str })) }));
    if (error instanceof AnalyzeError) emit?.(event("graphAnalyzeFail", { message: error.message }));
    throw error;
  }
}

/** Job indexes (into Plan.jobs) by job, in the order jobs are first met. */
class JobIndex {
  readonly labels: string[] = [];
  private readonly byJob = new Map<JobDefinition, number>();

  of(job: JobDefinition): number {
    let index = this.byJob.get(job);
    if (index === undefined) {
      index = this.labels.length;
      this.byJob.set(job, index);
      this.labels.push(job.label);
    }
    return index;
  }
}

/** The refs a round asks of one job: their ids, and the pattern each matched. */
interface JobRound {
  job: JobDefinition;
  jobIndex: number;
  ids: IntList;
  /** The pattern of each ref, by its index in `ids` (all the job's first one, unless it has several). */
  patterns: OutputPattern[] | undefined;
}

/**
 * dispatch_missing_partitions: the job of each missing ref (grouped by job, in
 * the order jobs are first met), reporting a failure as events.
 */
function dispatch(
  graph: Graph,
  table: RefTable,
  jobs: JobIndex,
  missing: Int32Array,
  emit: EmitEvent | undefined,
): JobRound[] {
  const refs = table.refs;
  try {
    const byJob = new Map<JobDefinition, JobRound>();
    let unmatched = false;
    let round: JobRound | undefined;
    for (let k = 0; k < missing.length; k++) {
      const id = missing[k]!;
      const hit = graph.matchOf(refs[id]!);
      if (!hit) {
        unmatched = true;
        continue;
      }
      if (round?.job !== hit.job) {
        round = byJob.get(hit.job);
        if (!round)
          byJob.set(
            hit.job,
            (round = { job: hit.job, jobIndex: jobs.of(hit.job), ids: new IntList(), patterns: undefined }),
          );
      }
      if (round.patterns) round.patterns.push(hit.pattern);
      else if (hit.pattern !== hit.job.outputs[0]) {
        round.patterns = new Array<OutputPattern>(round.ids.length).fill(hit.job.outputs[0]!);
        round.patterns.push(hit.pattern);
      }
      round.ids.push(id);
    }
    // lookup says what did not match, and how (every pattern, and who needed the ref).
    if (unmatched) {
      const needer = table.neededBy[missing[0]!]!;
      graph.lookup(
        Array.from(missing, (id) => refs[id]!),
        needer === NONE ? undefined : jobs.labels[needer],
      );
    }
    return [...byJob.values()];
  } catch (error) {
    if (isDatabuildError(error)) {
      emit?.(
        event("partitionDispatchFail", {
          partitionRefs: Array.from(missing.subarray(0, 100), (id) => ({ str: refs[id]! })),
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
  round: readonly JobRound[],
  table: RefTable,
  emit: EmitEvent | undefined,
  options: AnalyzeOptions,
): Promise<CallTasks[]> {
  const { signal, configLimits } = options;
  // One signal per job: a round may call hundreds of jobs, too many listeners for one signal.
  const jobs = round.map((r) => ({ ...r, controller: new AbortController() }));
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
      jobs.map((r) =>
        configureJob(r, table, emit, configureOptions(r.job, configLimits, r.controller.signal)).catch(
          (error: unknown) => {
            if (!failure && !stopped) {
              failure = { error };
              stopAll(`the config of job "${r.job.label}" failed`);
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
    return settled.map((r) => (r as PromiseFulfilledResult<CallTasks>).value);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * One job.config run: arg validation, the config call (fed straight into
 * CallTasks, which checks the contract), and their events. A broken contract
 * is a config failure like a throw.
 */
async function configureJob(
  round: JobRound,
  table: RefTable,
  emit: EmitEvent | undefined,
  options: ConfigureOptions,
): Promise<CallTasks> {
  const { job } = round;
  const ids = round.ids.view();
  const names = table.refs;
  const refStrings = () => Array.from(ids, (id) => names[id]!);
  const refs = emit ? Array.from(ids, (id) => ({ str: names[id]! })) : [];
  const jobLabel = { label: job.label };
  const first = job.outputs[0]!;
  /** The WantedPartitions of ids[from .. to). */
  const wanted = (from: number, to: number) => {
    const list = new Array<WantedPartition>(to - from);
    for (let k = from; k < to; k++) list[k - from] = wantedPartition(names[ids[k]!]!, round.patterns?.[k] ?? first);
    return list;
  };
  // Lookup already proved each ref matches one of the job's patterns.
  emit?.(event("argValidateSuccess", { job: jobLabel, partitionRefs: refs }));
  const call = new CallTasks(job, round.jobIndex, ids, table);
  try {
    if (job.configureInto && job.configEachRef) {
      // In parts, so that no WantedPartition outlives its part (a round may ask for a million refs).
      for (let from = 0; from < ids.length; from += PART_REFS) {
        call.offset = from;
        const pending = job.configureInto(wanted(from, Math.min(ids.length, from + PART_REFS)), call, options);
        if (pending) await pending;
      }
    } else if (job.configureInto) await job.configureInto(wanted(0, ids.length), call, options);
    else {
      const configs = await job.configure(wanted(0, ids.length), options);
      if (!Array.isArray(configs))
        throw new ConfigError(job.label, refStrings(), "config did not return a list of job configs");
      feedConfigs(configs, call);
    }
    const problem = call.finish();
    if (problem) throw new ConfigError(job.label, refStrings(), problem);
  } catch (error) {
    const failure =
      error instanceof ConfigError
        ? error
        : new ConfigError(job.label, refStrings(), error instanceof Error ? error.message : String(error), "", {
            cause: error,
          });
    emit?.(
      event("configFail", { job: jobLabel, partitionRefs: refs, message: failure.problem, stderr: failure.stderr }),
    );
    emit?.(event("jobConfigFail", { job: jobLabel, partitionRefs: refs, message: failure.message }));
    throw failure;
  }
  emit?.(event("configSuccess", { job: jobLabel, partitionRefs: refs, configCount: call.count }));
  return call;
}

/** Refs per call of a per-ref config (JobDefinition.configEachRef). */
const PART_REFS = 4096;
