/**
 * @module Topological order of planned tasks over MATERIALIZE edges (Kahn's
 * algorithm, iterative), and the chain of refs around a cycle when there is
 * one.
 */
import { DepType, type Task } from "../gen/databuild_pb.ts";

/**
 * Returns task indices in dependency order (ties keep creation order), or
 * the refs around a cycle, first ref repeated at the end.
 */
export function orderTasks(
  tasks: readonly Task[],
  producerTask: ReadonlyMap<string, number>,
): { order: number[] } | { cycle: string[] } {
  const n = tasks.length;
  const indegree = new Int32Array(n);
  // Dependents in CSR form: edges of producer p are dependents[start[p] .. start[p+1]).
  const outdegree = new Int32Array(n + 1);
  forEachEdge(tasks, producerTask, (producer, consumer) => {
    outdegree[producer]!++;
    indegree[consumer]!++;
  });
  const start = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) start[i + 1] = start[i]! + outdegree[i]!;
  const fill = start.slice(0, n);
  const dependents = new Int32Array(start[n]!);
  forEachEdge(tasks, producerTask, (producer, consumer) => {
    dependents[fill[producer]!++] = consumer;
  });

  const order: number[] = [];
  for (let i = 0; i < n; i++) if (indegree[i] === 0) order.push(i);
  for (let q = 0; q < order.length; q++) {
    const p = order[q]!;
    for (let e = start[p]!; e < start[p + 1]!; e++) {
      const c = dependents[e]!;
      if (--indegree[c]! === 0) order.push(c);
    }
  }
  if (order.length === n) return { order };
  return { cycle: findCycle(tasks, producerTask, indegree) };
}

function forEachEdge(
  tasks: readonly Task[],
  producerTask: ReadonlyMap<string, number>,
  visit: (producer: number, consumer: number) => void,
): void {
  for (let consumer = 0; consumer < tasks.length; consumer++) {
    for (const input of tasks[consumer]!.config!.inputs) {
      if (input.depType === DepType.QUERY) continue;
      const producer = producerTask.get(input.partitionRef!.str);
      if (producer !== undefined) visit(producer, consumer);
    }
  }
}

/**
 * Every task Kahn's algorithm left behind has an input produced by another
 * left-behind task, so walking from one such task to the producer of such an
 * input must revisit a task: that loop is a cycle.
 */
function findCycle(tasks: readonly Task[], producerTask: ReadonlyMap<string, number>, indegree: Int32Array): string[] {
  let current = indegree.findIndex((d) => d > 0);
  const visitedAt = new Map<number, number>();
  const path: { task: number; needs: string }[] = [];
  while (!visitedAt.has(current)) {
    visitedAt.set(current, path.length);
    const input = tasks[current]!.config!.inputs.find((i) => {
      if (i.depType === DepType.QUERY) return false;
      const p = producerTask.get(i.partitionRef!.str);
      return p !== undefined && indegree[p]! > 0;
    })!;
    path.push({ task: current, needs: input.partitionRef!.str });
    current = producerTask.get(input.partitionRef!.str)!;
  }
  const loop = path.slice(visitedAt.get(current));
  // Name each step by the ref it produces that the previous step needs.
  const refs = loop.map((step) => step.needs);
  const last = refs[refs.length - 1]!;
  return [last, ...refs];
}
