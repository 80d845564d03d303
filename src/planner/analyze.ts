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
 * Cost is linear in partitions + edges: every ref is dispatched at most once.
 */
import { DepType, type JobConfig, type JobGraph, type Task } from "../gen/databuild_pb.ts";
import { eventPayload as event, type EmitEvent } from "../core/build-event.ts";
import { AnalyzeError, ConfigError, CycleError, isDatabuildError } from "../core/errors.ts";
import type { Graph } from "../core/graph.ts";
import type { JobDefinition, WantedPartition } from "../core/job.ts";
import { jobGraph, task } from "../core/messages.ts";
import { assertValidRef, refProblem } from "../core/partition-ref.ts";
import { orderTasks } from "./order-tasks.ts";

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
}

/**
 * Returns the JobGraph whose nodes, run in order, produce `refs`. Throws
 * MalformedRefError for a malformed requested ref, and an AnalyzeError
 * (UnmatchedRefError, AmbiguousRefError, ConfigError, CycleError) when the
 * analysis fails; the matching events are emitted first.
 */
export async function analyze(graph: Graph, refs: readonly string[], options: AnalyzeOptions = {}): Promise<JobGraph> {
  const emit = options.emit;
  const requested = [...new Set(refs)];
  requested.forEach(assertValidRef);

  const tasks: Task[] = [];
  const producerTask = new Map<string, number>();
  const seen = new Set<string>(requested);
  const isAvailable = options.isAvailable;
  let missing = isAvailable ? requested.filter((ref) => !isAvailable(ref)) : requested;
  let neededBy: Map<string, string> | undefined;

  try {
    while (missing.length > 0) {
      const byJob = dispatch(graph, missing, neededBy, emit);
      const next: string[] = [];
      neededBy = new Map();
      // Let every config call of the round finish before failing, so no job.config
      // events arrive after the analysis has reported its failure.
      const settled = await Promise.allSettled(
        [...byJob].map(([job, wanted]) => configureJob(job, wanted, producerTask, emit)),
      );
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
      for (const result of settled) {
        const { job, configs } = (result as PromiseFulfilledResult<ConfigureResult>).value;
        for (const config of configs) {
          const index = tasks.length;
          for (const output of config.outputs) producerTask.set(output.str, index);
          tasks.push(task(job.label, config));
          for (const input of config.inputs) {
            const ref = input.partitionRef!.str;
            if (input.depType === DepType.QUERY || seen.has(ref)) continue;
            seen.add(ref);
            if (isAvailable?.(ref)) continue;
            next.push(ref);
            neededBy.set(ref, job.label);
          }
        }
      }
      // A config may produce more than it was asked for; never dispatch those again.
      missing = next.filter((ref) => !producerTask.has(ref));
    }
    const ordered = orderTasks(tasks, producerTask);
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
  missing: readonly string[],
  neededBy: Map<string, string> | undefined,
  emit: EmitEvent | undefined,
): Map<JobDefinition, WantedPartition[]> {
  try {
    return graph.lookup(missing, neededBy && missing.length > 0 ? neededBy.get(missing[0]!) : undefined);
  } catch (error) {
    if (isDatabuildError(error)) {
      emit?.(
        event("partitionDispatchFail", {
          partitionRefs: missing.slice(0, 100).map((str) => ({ str })),
          message: error.message,
        }),
      );
    }
    throw error;
  }
}

interface ConfigureResult {
  job: JobDefinition;
  configs: JobConfig[];
}

/**
 * One job.config run: arg validation, the config call, the contract check,
 * and their events. A broken contract is a config failure like a throw.
 */
async function configureJob(
  job: JobDefinition,
  wanted: WantedPartition[],
  producedEarlier: ReadonlyMap<string, number>,
  emit: EmitEvent | undefined,
): Promise<ConfigureResult> {
  const refs = emit ? wanted.map((w) => ({ str: w.ref })) : [];
  const jobLabel = { label: job.label };
  // Lookup already proved each ref matches one of the job's patterns.
  emit?.(event("argValidateSuccess", { job: jobLabel, partitionRefs: refs }));
  let configs: JobConfig[];
  try {
    configs = await job.configure(wanted);
    const problem = Array.isArray(configs)
      ? contractProblem(job, wanted, configs, producedEarlier)
      : "config did not return a list of job configs";
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
  emit?.(event("configSuccess", { job: jobLabel, partitionRefs: refs, configCount: configs.length }));
  return { job, configs };
}

/**
 * What breaks the config contract, if anything: every output is a valid ref
 * this job produces, no ref is produced twice (in this call or an earlier
 * round), every wanted ref is produced, and every input ref is valid.
 */
function contractProblem(
  job: JobDefinition,
  wanted: readonly WantedPartition[],
  configs: readonly JobConfig[],
  producedEarlier: ReadonlyMap<string, number>,
): string | undefined {
  const produced = new Set<string>();
  for (const config of configs) {
    if (config.outputs.length === 0) return "a returned config has no outputs";
    for (const output of config.outputs) {
      const ref = output.str;
      const problem = refProblem(ref);
      if (problem) return `output ref ${JSON.stringify(ref)} is malformed: ${problem}`;
      if (produced.has(ref) || producedEarlier.has(ref))
        return `partition ${JSON.stringify(ref)} is produced by more than one config`;
      if (!job.outputs.some((p) => p.match(ref))) {
        return `output ${JSON.stringify(ref)} does not match the job's output patterns (${job.outputs.map((p) => p.source).join(", ")})`;
      }
      produced.add(ref);
    }
    for (const input of config.inputs) {
      const ref = input.partitionRef?.str ?? "";
      const problem = refProblem(ref);
      if (problem) return `input ref ${JSON.stringify(ref)} is malformed: ${problem}`;
    }
  }
  const unproduced = wanted.filter((w) => !produced.has(w.ref));
  if (unproduced.length === 0) return undefined;
  const shown = unproduced
    .slice(0, 5)
    .map((w) => JSON.stringify(w.ref))
    .join(", ");
  return `requested partition ${shown}${unproduced.length > 5 ? ` and ${unproduced.length - 5} more` : ""} not in the outputs of any returned config`;
}
