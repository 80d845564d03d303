/**
 * @module BuildHost: the builds a replica runs, in its own process, with
 * the CLI's executor (`buildGraph`). A build request arrives with its
 * BuildRequestReceived already in the log (RequestBuild, a trigger tick, an
 * adoption recorded it atomically), waits in a queue while
 * `--max-concurrent-builds` builds run, then runs to its end. A queued build
 * heartbeats, so no replica takes it for lost while it waits. At shutdown,
 * what is still queued or running is handed over (see `handOver`).
 */
import type { SharedView } from "../coordination/index.ts";
import type { EventLog } from "../core/event-log.ts";
import type { Graph } from "../core/graph.ts";
import type { JobRunner } from "../core/job-runner.ts";
import { eventPayload } from "../core/build-event.ts";
import { newEvent } from "../core/new-event.ts";
import { buildGraph } from "../executor/build-graph.ts";
import type { BuildRequest, BuildResult } from "../executor/build-request.ts";
import type { ServiceLogger } from "./service-logger.ts";

export interface BuildHostOptions {
  readonly graph: Graph;
  readonly log: EventLog;
  readonly runner: JobRunner;
  /** Most builds running at once; the rest wait in order. */
  readonly maxConcurrentBuilds: number;
  /** How often queued builds heartbeat (the builds' own period). */
  readonly heartbeatMs: number;
  readonly logger: ServiceLogger;
  /** A view for each build to start from instead of loading its own (the LiveLog's: `LiveLog.viewForBuild`). */
  readonly viewForBuild?: () => SharedView;
  /** Told when a build starts or ends, or the queue changes (metrics). */
  readonly onChange?: () => void;
}

/** A build request this replica runs: its request (BuildRequestReceived already logged) and how it is stopped. */
interface HostedBuild {
  readonly request: BuildRequest & { readonly buildRequestId: string };
  readonly abort: AbortController;
  readonly done: Promise<BuildResult | undefined>;
  resolve: (result: BuildResult | undefined) => void;
  started: boolean;
}

export class BuildHost {
  private readonly queue: HostedBuild[] = [];
  private readonly running = new Map<string, HostedBuild>();
  private readonly heartbeat: NodeJS.Timeout;
  private accepting = true;

  constructor(private readonly options: BuildHostOptions) {
    // Queued builds promise a heartbeat too (their BuildRequestReceived set their lease).
    this.heartbeat = setInterval(() => void this.heartbeatQueued(), options.heartbeatMs);
    this.heartbeat.unref();
  }

  get queued(): number {
    return this.queue.length;
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** The ids of the builds this replica holds (queued or running). */
  ids(): string[] {
    return [...this.queue.map((b) => b.request.buildRequestId), ...this.running.keys()];
  }

  /** Whether this replica holds `buildRequestId` (queued or running). */
  holds(buildRequestId: string): boolean {
    return this.running.has(buildRequestId) || this.queue.some((b) => b.request.buildRequestId === buildRequestId);
  }

  /**
   * Runs `request` (its BuildRequestReceived is in the log) once a slot is
   * free. Resolves with its result when it ends, undefined if it never ran
   * (handed over at shutdown) or threw (logged).
   */
  run(request: BuildRequest & { readonly buildRequestId: string }): Promise<BuildResult | undefined> {
    let resolve!: (result: BuildResult | undefined) => void;
    const done = new Promise<BuildResult | undefined>((r) => (resolve = r));
    const build: HostedBuild = { request, abort: new AbortController(), done, resolve, started: false };
    if (!this.accepting) {
      resolve(undefined);
      return done;
    }
    this.queue.push(build);
    this.pump();
    return done;
  }

  /** Starts `buildRequestId` now if it waits in the queue (cancelled: it only has to notice and end). */
  expedite(buildRequestId: string): void {
    const index = this.queue.findIndex((b) => b.request.buildRequestId === buildRequestId);
    if (index < 0 || !this.accepting) return;
    const [build] = this.queue.splice(index, 1);
    this.running.set(buildRequestId, build!);
    build!.started = true;
    void this.execute(build!);
  }

  /** Starts queued builds while slots are free. */
  private pump(): void {
    while (this.accepting && this.running.size < this.options.maxConcurrentBuilds && this.queue.length > 0) {
      const build = this.queue.shift()!;
      this.running.set(build.request.buildRequestId, build);
      build.started = true;
      // After the answer to the RPC that asked for it is out: the build's first reads are synchronous (SQLite).
      setImmediate(() => void this.execute(build));
    }
    this.options.onChange?.();
  }

  private async execute(build: HostedBuild): Promise<void> {
    const { request } = build;
    const { logger } = this.options;
    const started = Date.now();
    logger.info(
      { event: "build_start", buildRequestId: request.buildRequestId, refs: request.refs.length },
      "build started",
    );
    let result: BuildResult | undefined;
    try {
      result = await buildGraph(
        {
          graph: this.options.graph,
          log: this.options.log,
          runner: this.options.runner,
          view: this.options.viewForBuild?.(),
        },
        { ...request, receivedRecorded: true, signal: build.abort.signal },
      );
      logger.info(
        {
          event: "build_end",
          buildRequestId: request.buildRequestId,
          status: result.status,
          jobsSucceeded: result.jobsSucceeded,
          jobsFailed: result.jobsFailed,
          durationMs: Date.now() - started,
        },
        result.message,
      );
    } catch (error) {
      logger.error(
        { event: "build_end", buildRequestId: request.buildRequestId, status: "error", err: error },
        `the build stopped: ${(error as Error).message}`,
      );
    } finally {
      this.running.delete(request.buildRequestId);
      build.resolve(result);
      this.pump();
    }
  }

  private async heartbeatQueued(): Promise<void> {
    if (this.queue.length === 0) return;
    const events = this.queue.map((b) =>
      newEvent({ buildRequestId: b.request.buildRequestId }, eventPayload("buildHeartbeat", { runningJobs: 0 })),
    );
    try {
      await this.options.log.append(events);
    } catch {
      // The log is unreachable for now: the builds' own appends will say so once they run.
    }
  }

  /** Stops starting builds; what is queued stays queued (for `handOver`). */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Resolves once nothing runs, or after `ms`; returns whether nothing runs. */
  async settle(ms: number): Promise<boolean> {
    const deadline = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), ms).unref());
    const all = Promise.all([...this.running.values()].map((b) => b.done)).then(() => "done" as const);
    return (await Promise.race([all, deadline])) === "done";
  }

  /**
   * The builds still held at shutdown: those queued (never started) and
   * those running. Removes the queued ones (they will never run here).
   */
  takeUnfinished(): { queued: string[]; running: string[] } {
    const queued = this.queue.splice(0).map((b) => {
      b.resolve(undefined);
      return b.request.buildRequestId;
    });
    return { queued, running: [...this.running.keys()] };
  }

  /** Waits for every running build's promise to settle (they stop once declared lost). */
  async drain(ms: number): Promise<void> {
    await this.settle(ms);
  }

  /** Cancels every running build as Ctrl-C would (the last resort, when handing over failed). */
  cancelAll(): void {
    for (const build of this.running.values()) build.abort.abort("the replica is shutting down");
  }

  close(): void {
    clearInterval(this.heartbeat);
  }
}
