/**
 * @module startService: one replica of `databuild serve`. It opens the
 * process's one LiveLog (with the token book and the trigger book as
 * models), serves DatabuildService on one port (Connect, gRPC, gRPC-Web;
 * listener.ts), `/healthz` and `/metrics`, runs the builds asked of it
 * (build-host.ts), the graph's triggers, and adopts lost service builds of
 * any replica (adoption.ts). It holds no state but the log: any number of
 * replicas can share one PostgreSQL log.
 */
import { hostname } from "node:os";
import type http from "node:http";
import { Code, ConnectError, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import { DatabuildService } from "../gen/databuild_pb.ts";
import type { EventLog } from "../core/event-log.ts";
import type { Graph } from "../core/graph.ts";
import type { JobRunner } from "../core/job-runner.ts";
import type { Explained } from "../coordination/index.ts";
import { DEFAULT_BUILD_REQUEST } from "../executor/build-request.ts";
import { TokenBook } from "../tokens/index.ts";
import { JobRunners } from "../wrapper/index.ts";
import { WorkerJobRunner } from "../workers/index.ts";
import { dashboardRpcs, serveDashboard } from "../dashboard/index.ts";
import { tokenRpcs } from "./admin-rpcs.ts";
import { Adopter, declareOwnLost } from "./adoption.ts";
import { authInterceptor } from "./auth.ts";
import { BuildHost } from "./build-host.ts";
import { listen, type Listener } from "./listener.ts";
import { ServiceMetrics } from "./metrics.ts";
import { serviceAdapter } from "./service-adapter.ts";
import { LiveLog, readRpcs } from "./reads/index.ts";
import { drainingInterceptor, httpFallback, requestLogInterceptor, trackRequests } from "./request-handling.ts";
import { serviceLogger, type ServiceLogger } from "./service-logger.ts";
import { ServiceTriggers } from "./service-triggers.ts";
import { writeRpcs, type BuildDefaults } from "./write-rpcs.ts";

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;

export interface ServiceOptions {
  readonly graph: Graph;
  /** The graph's file: in-process jobs run on worker threads that load it. */
  readonly graphFile?: string;
  readonly log: EventLog;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port (see `Service.port`). */
  readonly port?: number;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly launcher?: "local" | "worker";
  /** Jobs run through this instead of the launcher's runner (tests). */
  readonly runner?: JobRunner;
  readonly allowAnonymousRead?: boolean;
  readonly maxConcurrentBuilds?: number;
  readonly maxBodyBytes?: number;
  /** Names this replica in what it records (trigger evaluations, adoptions); default host:pid. */
  readonly replicaId?: string;
  readonly build?: Partial<BuildDefaults>;
  readonly shutdownGraceMs?: number;
  /** Default: JSON lines on stderr. */
  readonly logger?: ServiceLogger;
  /** Fills PartitionExplanation.summary (src/cli's explain wording). */
  readonly summarize?: (answer: Explained, nowMs: number) => string;
  /** How often lost build requests are looked for (default 2 s). */
  readonly adoptionIntervalMs?: number;
  /** How often the trigger runner evaluates (default: the runner's). */
  readonly triggerPollMs?: number;
  /** More RPCs of DatabuildService, answered from the live log (the dashboard's), checked by the same auth. */
  readonly extraRpcs?: (live: LiveLog) => Partial<ServiceImpl<typeof DatabuildService>>;
  /** Plain HTTP routes before the 404 (the dashboard's pages): true when it answered the request. */
  readonly httpRoutes?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

export interface Service {
  readonly url: string;
  readonly port: number;
  readonly replicaId: string;
  readonly live: LiveLog;
  readonly builds: BuildHost;
  /**
   * Graceful shutdown: stop taking requests (healthz 503), stop the
   * triggers, let running builds finish for up to `graceMs`, hand the rest
   * over (declared lost, "replica shut down", so another replica adopts
   * them at once), close. Does not close the log (its opener does).
   */
  shutdown(graceMs?: number): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost", "::ffff:127.0.0.1"]);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\./.test(host);
}

/** Why `options` cannot be served, or undefined. */
export function serveProblem(options: Pick<ServiceOptions, "host" | "tls">): string | undefined {
  const host = options.host ?? "127.0.0.1";
  if (!options.tls && !isLoopback(host))
    return `--host ${host} without TLS would send bearer tokens across the network in plain text: give --tls-cert and --tls-key, or bind to 127.0.0.1 (and put a TLS proxy in front)`;
  return undefined;
}

export async function startService(options: ServiceOptions): Promise<Service> {
  const problem = serveProblem(options);
  if (problem) throw new Error(problem);
  const { graph, log } = options;
  const logger = options.logger ?? serviceLogger();
  const replicaId = options.replicaId ?? `${hostname()}:${process.pid}`;
  const defaults: BuildDefaults = {
    parallel: options.build?.parallel ?? 4,
    retries: options.build?.retries ?? DEFAULT_BUILD_REQUEST.retries,
    heartbeatMs: options.build?.heartbeatMs ?? DEFAULT_BUILD_REQUEST.heartbeatMs,
    heartbeatTimeoutMs: options.build?.heartbeatTimeoutMs ?? DEFAULT_BUILD_REQUEST.heartbeatTimeoutMs,
  };
  const note = (message: string) => logger.warn({ event: "note" }, message);
  const tokens = new TokenBook();
  const triggers = new ServiceTriggers({ graph, log, replicaId, logger, pollMs: options.triggerPollMs });
  const live = await LiveLog.open(log, { models: [tokens, ...triggers.models], note });

  const local = options.runner ?? new JobRunners({ graphFile: options.graphFile });
  const runner =
    options.launcher === "worker"
      ? new WorkerJobRunner(log, {
          local,
          requirementsOf: (label) => graph.job(label)?.requires,
          onWaiting: (message) => logger.info({ event: "worker_wait" }, message),
        })
      : local;
  const metricsRef: { metrics?: ServiceMetrics } = {};
  const builds = new BuildHost({
    graph,
    log,
    runner,
    maxConcurrentBuilds: options.maxConcurrentBuilds ?? 4,
    heartbeatMs: defaults.heartbeatMs,
    logger,
    viewForBuild: () => live.viewForBuild(),
  });
  const metrics = new ServiceMetrics({
    live,
    queueDepth: () => builds.queued,
    runningBuilds: () => builds.runningCount,
    triggers: () => triggers.views(),
  });
  metricsRef.metrics = metrics;
  metrics.start();

  const reads = readRpcs({
    log,
    live,
    graph,
    triggerViews: () => triggers.views(),
    summarize: options.summarize,
    note,
  });
  const writes = writeRpcs({ log, live, graph, host: builds, defaults });
  const admin = tokenRpcs({ log, live, tokens });
  const triggerRpcs = triggers.rpcs(live);
  const routes = (router: ConnectRouter) =>
    router.service(DatabuildService, {
      ...dashboardRpcs({ live }),
      ...options.extraRpcs?.(live),
      ...reads,
      ...writes,
      ...admin,
      ...triggerRpcs,
    });

  const state = { draining: false };
  const shutdownController = new AbortController();
  const adapter = serviceAdapter({
    routes,
    readMaxBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    jsonOptions: { ignoreUnknownFields: false },
    binaryOptions: { readUnknownFields: true },
    shutdownSignal: shutdownController.signal,
    interceptors: [
      requestLogInterceptor(logger, metrics),
      drainingInterceptor(state),
      authInterceptor({ tokens, allowAnonymousRead: options.allowAnonymousRead ?? false }),
    ],
    contextValues: trackRequests.contextValues,
    fallback: httpFallback({
      state,
      metrics,
      // The dashboard at `/` (docs/dashboard.md), after any routes the caller adds.
      routes: (req, res) => options.httpRoutes?.(req, res) === true || serveDashboard(req, res),
    }),
  });
  const handler = trackRequests.handler(adapter, logger, metrics);

  let listener: Listener;
  try {
    listener = await listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0, tls: options.tls, handler });
  } catch (error) {
    metrics.stop();
    await live.close();
    await runner.close?.();
    throw error;
  }
  const shownHost = (options.host ?? "127.0.0.1").includes(":") ? `[${options.host}]` : (options.host ?? "127.0.0.1");
  const url = `${options.tls ? "https" : "http"}://${shownHost}:${listener.port}`;

  const adopter = new Adopter({
    log,
    live,
    graph,
    replicaId,
    defaults,
    run: (request) => void builds.run(request),
    logger,
    intervalMs: options.adoptionIntervalMs,
  });
  adopter.start();
  triggers.start({
    live,
    defaults,
    startBuild: (request) => void builds.run(request),
  });
  logger.info({ event: "listening", url, replicaId }, `listening on ${url}`);

  let closing: Promise<void> | undefined;
  const shutdown = (graceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS): Promise<void> =>
    (closing ??= (async () => {
      state.draining = true;
      logger.info({ event: "shutdown", graceMs }, "shutting down: no new requests; running builds may finish");
      await triggers.stop();
      await adopter.stop();
      builds.stopAccepting();
      const { queued } = builds.takeUnfinished();
      if (queued.length > 0) await handOver(queued);
      const finished = await builds.settle(graceMs);
      if (!finished) {
        const running = builds.ids();
        await handOver(running);
        // Declared lost, they stop at their next append; make sure they stop soon.
        builds.cancelAll();
        await builds.settle(10_000);
      }
      // Open streams end with `unavailable`: a client reconnects to another replica and resumes by offset.
      shutdownController.abort(new ConnectError("the replica is shutting down; reconnect to resume", Code.Unavailable));
      await listener.close();
      builds.close();
      metrics.stop();
      await runner.close?.();
      await live.close();
      logger.info({ event: "stopped" }, "stopped");
    })());

  const handOver = async (ids: readonly string[]) => {
    try {
      const declared = await declareOwnLost(log, live, ids);
      if (declared.length > 0)
        logger.info(
          { event: "handed_over", buildRequestIds: declared },
          `declared ${declared.length} unfinished build request(s) lost for another replica to continue`,
        );
    } catch (error) {
      logger.error({ event: "hand_over_failed", err: error }, "could not hand unfinished builds over");
    }
  };

  return { url, port: listener.port, replicaId, live, builds, shutdown };
}
