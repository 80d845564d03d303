/**
 * @module Test helper: builds a graph model from GSL job specs in memory.
 */
import type { Graph } from "../core/graph.ts";
import { defineGraph, toGraph } from "../gsl/define-graph.ts";
import type { DefinedJob } from "../gsl/define-job.ts";

/** A graph of `defineJob` jobs labelled `label`, with commands run in `baseDir`. */
export function gslGraph(jobs: readonly DefinedJob[], label = "test_graph", baseDir = process.cwd()): Graph {
  return toGraph(defineGraph({ label, jobs }), { baseDir });
}

/** An exec function that does nothing (planning tests never run it). */
export const noop = (): void => {};
