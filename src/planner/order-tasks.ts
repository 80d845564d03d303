/**
 * @module Topological order of planned tasks over MATERIALIZE edges (Kahn's
 * algorithm on integer arrays), and the chain of refs around a cycle when
 * there is one.
 */

/** Each task's input ref ids, in CSR form; a QUERY input is ~id (negative) and orders nothing. */
export interface TaskInputs {
  /** Inputs of task t are `inputIds[start[t] .. start[t + 1])`. */
  readonly start: ArrayLike<number>;
  readonly inputIds: ArrayLike<number>;
}

/**
 * Returns task indices in dependency order (ties keep creation order), or
 * the refs around a cycle, first ref repeated at the end. `producer[id]` is
 * the task producing ref `id`, or a negative number when none is planned.
 */
export function orderTasks(
  taskCount: number,
  inputs: TaskInputs,
  producer: ArrayLike<number>,
  refs: readonly string[],
): { order: Int32Array } | { cycle: string[] } {
  // One loop per function: V8 optimizes each hot loop on its own, without
  // type feedback from loops that have not run yet.
  const edgeProducer = producersOf(inputs.inputIds, producer);
  const indegree = new Int32Array(taskCount);
  const first = outgoing(taskCount, inputs.start, edgeProducer, indegree);
  const dependents = dependentsOf(taskCount, inputs.start, edgeProducer, first);
  const order = new Int32Array(taskCount);
  const length = kahn(taskCount, first, dependents, indegree, order);
  if (length === taskCount) return { order };
  return { cycle: findCycle(inputs, producer, refs, indegree) };
}

/** The producing task of each edge's input, or -1 (QUERY, or not planned). */
function producersOf(inputIds: ArrayLike<number>, producer: ArrayLike<number>): Int32Array {
  const edgeProducer = new Int32Array(inputIds.length);
  for (let e = 0; e < inputIds.length; e++) {
    const id = inputIds[e]!;
    edgeProducer[e] = id < 0 ? -1 : producer[id]! < 0 ? -1 : producer[id]!;
  }
  return edgeProducer;
}

/** Counts each task's producers into `indegree`; returns where each producer's dependents start (CSR). */
function outgoing(
  taskCount: number,
  start: ArrayLike<number>,
  edgeProducer: Int32Array,
  indegree: Int32Array,
): Int32Array {
  const first = new Int32Array(taskCount + 1);
  for (let consumer = 0; consumer < taskCount; consumer++) {
    for (let e = start[consumer]!, end = start[consumer + 1]!; e < end; e++) {
      const p = edgeProducer[e]!;
      if (p >= 0) {
        first[p + 1]!++;
        indegree[consumer]!++;
      }
    }
  }
  for (let i = 0; i < taskCount; i++) first[i + 1]! += first[i]!;
  return first;
}

/** Dependents in CSR form: those of producer p are dependents[first[p] .. first[p + 1]). */
function dependentsOf(
  taskCount: number,
  start: ArrayLike<number>,
  edgeProducer: Int32Array,
  first: Int32Array,
): Int32Array {
  const fill = first.slice(0, taskCount);
  const dependents = new Int32Array(first[taskCount]!);
  for (let consumer = 0; consumer < taskCount; consumer++) {
    for (let e = start[consumer]!, end = start[consumer + 1]!; e < end; e++) {
      const p = edgeProducer[e]!;
      if (p >= 0) dependents[fill[p]!++] = consumer;
    }
  }
  return dependents;
}

/** Kahn's algorithm into `order`; returns how many tasks it ordered. */
function kahn(
  taskCount: number,
  first: Int32Array,
  dependents: Int32Array,
  indegree: Int32Array,
  order: Int32Array,
): number {
  let length = 0;
  for (let i = 0; i < taskCount; i++) if (indegree[i] === 0) order[length++] = i;
  for (let q = 0; q < length; q++) {
    const p = order[q]!;
    for (let e = first[p]!, end = first[p + 1]!; e < end; e++) {
      const c = dependents[e]!;
      if (--indegree[c]! === 0) order[length++] = c;
    }
  }
  return length;
}

/**
 * Every task Kahn's algorithm left behind has an input produced by another
 * left-behind task, so walking from one such task to the producer of such an
 * input must revisit a task: that loop is a cycle.
 */
function findCycle(
  inputs: TaskInputs,
  producer: ArrayLike<number>,
  refs: readonly string[],
  indegree: Int32Array,
): string[] {
  let current = indegree.findIndex((d) => d > 0);
  const visitedAt = new Map<number, number>();
  const path: number[] = [];
  while (!visitedAt.has(current)) {
    visitedAt.set(current, path.length);
    let next = -1;
    for (let e = inputs.start[current]!; e < inputs.start[current + 1]!; e++) {
      const id = inputs.inputIds[e]!;
      const p = id < 0 ? -1 : producer[id]!;
      if (p >= 0 && indegree[p]! > 0) {
        path.push(id);
        next = p;
        break;
      }
    }
    current = next;
  }
  // Name each step by the ref it needs; the loop starts where it closed.
  const loop = path.slice(visitedAt.get(current)).map((id) => refs[id]!);
  return [loop[loop.length - 1]!, ...loop];
}
