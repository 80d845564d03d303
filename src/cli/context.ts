/**
 * @module Options every command shares (--graph) and the lazily loaded graph.
 */
import type { Graph } from "../core/graph.ts";
import { assertValidRef } from "../core/partition-ref.ts";
import { basename, delimiter, dirname, relative, resolve } from "node:path";
import type { EventLog } from "../core/event-log.ts";
import { findGraphFile } from "../loader/find-graph-file.ts";
import { eventLogLocation, shownLocation } from "./event-log-location.ts";
import type { OpenEventLogOptions } from "./open-event-log.ts";
import type { CliIO } from "./io.ts";

export interface GlobalOptions {
  graph?: string;
  db?: string;
  server?: string;
  token?: string;
}

/** The service a command talks to instead of the log (`--server`), and the token it sends. */
export interface ServerOptions {
  readonly url: string;
  readonly token: string | undefined;
}

export class CommandContext {
  constructor(
    readonly io: CliIO,
    private readonly options: () => GlobalOptions,
  ) {}

  /** --server URL or $DATABUILD_SERVER (with --token or $DATABUILD_TOKEN), or undefined: open the log. */
  server(): ServerOptions | undefined {
    const url = this.options().server ?? this.io.env.DATABUILD_SERVER;
    if (!url) return undefined;
    return { url, token: this.options().token ?? (this.io.env.DATABUILD_TOKEN || undefined) };
  }

  /** The graph file path, per --graph, $DATABUILD_GRAPH or discovery. */
  graphFile(): string {
    return findGraphFile(this.options().graph, this.io.env, this.io.cwd);
  }

  /** The build event log's path or URL. */
  eventLogLocation(): string {
    return eventLogLocation(this.options().db, this.io.env, this.io.cwd, () => this.graphFile());
  }

  /** The log's path or URL as messages show it: a URL without its password. */
  shownEventLogLocation(): string {
    return shownLocation(this.eventLogLocation());
  }

  /**
   * Opens the build event log. Commands that only read pass `readOnly` (the
   * log is never created or written, and a user who may only read it can)
   * and `mustExist`, so a typo in --db is an error rather than an empty log.
   */
  async openEventLog(options: OpenEventLogOptions = {}): Promise<EventLog> {
    // Loaded when a command opens the log (SQLite), not with every command.
    const { openEventLog } = await import("./open-event-log.ts");
    return openEventLog(this.eventLogLocation(), options);
  }

  /**
   * The start of a command line that reaches the same graph and log from the
   * current directory, for hints ("npx databuild --graph examples/x/databuild.ts"),
   * spelled the way databuild was started: `npx databuild` when npm started it
   * (npx, npm exec or an npm script: npm sets npm_command), `databuild` when
   * found on PATH, else the path that ran it (`node bin/databuild.js`,
   * `node_modules/.bin/databuild`), which works from the current directory too.
   */
  commandPrefix(): string {
    const { env, cwd } = this.io;
    const script = process.argv[1];
    const shown = (path: string) => {
      const rel = relative(cwd, path);
      const short = rel.length < path.length ? rel : path;
      return short.includes("/") ? short : `./${short}`;
    };
    let command = "databuild";
    if (env.npm_command) command = "npx databuild";
    else if (script !== undefined && basename(script) === "databuild") {
      const onPath = (env.PATH ?? "")
        .split(delimiter)
        .some((dir) => dir !== "" && resolve(cwd, dir) === dirname(script));
      if (!onPath) command = shown(script);
    } else if (script !== undefined && basename(script) === "databuild.js") command = `node ${shown(script)}`;
    const parts = [command];
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
    if (db !== undefined) parts.push("--db", shownLocation(db));
    // A token is never echoed into a hint; $DATABUILD_SERVER reaches the service again by itself.
    const server = this.options().server;
    if (server !== undefined) parts.push("--server", server);
    return parts.join(" ");
  }

  async loadGraph(): Promise<Graph> {
    // Loaded when a command needs the graph (tsx, the manifest parser), not with every command.
    const { loadGraph } = await import("../loader/load-graph.ts");
    return loadGraph(this.graphFile());
  }

  /** Validates refs given on the command line (MalformedRefError: exit 2). */
  refs(args: readonly string[]): string[] {
    return args.map(assertValidRef);
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  /** A note on stderr (a snapshot ignored and rebuilt, ...): never part of a command's output. */
  readonly note = (text: string): void => {
    this.io.stderr.write(`databuild: note: ${text}\n`);
  };
}
