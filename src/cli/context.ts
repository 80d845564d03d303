/**
 * @module Options every command shares (--graph) and the lazily loaded graph.
 */
import type { Graph } from "../core/graph.ts";
import { assertValidRef } from "../core/partition-ref.ts";
import { findGraphFile } from "../loader/find-graph-file.ts";
import { loadGraph } from "../loader/load-graph.ts";
import type { CliIO } from "./io.ts";

export interface GlobalOptions {
  graph?: string;
}

export class CommandContext {
  constructor(
    readonly io: CliIO,
    private readonly options: () => GlobalOptions,
  ) {}

  /** The graph file path, per --graph, $DATABUILD_GRAPH or discovery. */
  graphFile(): string {
    return findGraphFile(this.options().graph, this.io.env, this.io.cwd);
  }

  async loadGraph(): Promise<Graph> {
    return loadGraph(this.graphFile());
  }

  /** Validates refs given on the command line (MalformedRefError: exit 2). */
  refs(args: readonly string[]): string[] {
    return args.map(assertValidRef);
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }
}
