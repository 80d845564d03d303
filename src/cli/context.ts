/**
 * @module Options every command shares (--graph) and the lazily loaded graph.
 */
import type { Graph } from "../core/graph.ts";
import { assertValidRef } from "../core/partition-ref.ts";
import { dirname, relative } from "node:path";
import type { EventLog } from "../core/event-log.ts";
import { findGraphFile } from "../loader/find-graph-file.ts";
import { eventLogLocation } from "./event-log-location.ts";
import { openEventLog } from "./open-event-log.ts";
import { loadGraph } from "../loader/load-graph.ts";
import type { CliIO } from "./io.ts";

export interface GlobalOptions {
  graph?: string;
  db?: string;
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

  /** The build event log's path or URL. */
  eventLogLocation(): string {
    return eventLogLocation(this.options().db, this.io.env, this.io.cwd, () => this.graphFile());
  }

  /**
   * Opens the build event log. Commands that only read pass `mustExist`, so
   * a typo in --db is an error rather than a new empty log.
   */
  async openEventLog(options: { mustExist?: boolean } = {}): Promise<EventLog> {
    return openEventLog(this.eventLogLocation(), options);
  }

  /**
   * The start of a command line that reaches the same graph and log from the
   * current directory, for hints ("databuild --graph examples/x/databuild.ts").
   */
  commandPrefix(): string {
    const parts = ["databuild"];
    let graph: string | undefined;
    try {
      graph = this.graphFile();
    } catch {
      // Commands that read the log can run from --db alone: there is no graph file to name.
    }
    const discovered =
      graph === undefined ||
      (dirname(graph) === this.io.cwd && this.options().graph === undefined && !this.io.env.DATABUILD_GRAPH);
    if (!discovered) parts.push("--graph", relative(this.io.cwd, graph!) || graph!);
    const db = this.options().db;
    if (db !== undefined) parts.push("--db", db);
    return parts.join(" ");
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
