/**
 * @module `databuild serve`: one replica of the service (SPEC 3.7) on the
 * graph's log: DatabuildService over Connect, gRPC and gRPC-Web on one
 * port, /healthz, /metrics, the graph's triggers, builds run in this
 * process (or on workers). SIGTERM or Ctrl-C shuts it down gracefully
 * (exit 0); a second one exits at once (130). docs/service.md tells more.
 */
import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { availableParallelism } from "node:os";
import { UsageError } from "../../core/errors.ts";
import { DEFAULT_BUILD_REQUEST } from "../../executor/build-request.ts";
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_SHUTDOWN_GRACE_MS,
  serveProblem,
  serviceLogger,
  startService,
} from "../../service/index.ts";
import type { CommandContext } from "../context.ts";
import { EXIT_OK } from "../exit-codes.ts";
import { explanationSummary } from "../format/explanation.ts";
import { byteSize, nonNegativeInteger, positiveInteger, positiveSeconds } from "../options.ts";

interface ServeOptions {
  host: string;
  port: number;
  launcher: "local" | "worker";
  allowAnonymousRead?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  maxConcurrentBuilds: number;
  maxBodyBytes: number;
  replicaId?: string;
  parallel: number;
  retries: number;
  heartbeat: number;
  heartbeatTimeout: number;
  shutdownGrace: number;
  logLevel: string;
}

export function registerServe(
  program: Command,
  context: () => CommandContext,
  setExitCode: (code: number) => void,
): void {
  program
    .command("serve")
    .description("serve the graph's log over an API (Connect, gRPC, gRPC-Web), run its builds and triggers")
    .option("--host <host>", "address to listen on (without TLS: a loopback address only)", "127.0.0.1")
    .option("--port <port>", "port to listen on (0: any free port)", nonNegativeInteger("--port"), 8080)
    .addOption(
      new Option(
        "--launcher <launcher>",
        "where jobs run: local (processes of this host) or worker (the `databuild worker` pool sharing this log)",
      )
        .choices(["local", "worker"])
        .default("local"),
    )
    .option("--allow-anonymous-read", "answer read RPCs without a token (writes still need one)")
    .option("--tls-cert <file>", "serve TLS with this certificate chain (PEM); needs --tls-key")
    .option("--tls-key <file>", "the private key (PEM) of --tls-cert")
    .option(
      "--max-concurrent-builds <n>",
      "most build requests this replica runs at once; more wait in a queue (databuild_build_queue_depth)",
      positiveInteger("--max-concurrent-builds"),
      4,
    )
    .option(
      "--max-body-bytes <bytes>",
      "largest request body accepted, e.g. 4MiB; a larger one is refused with resource_exhausted",
      byteSize("--max-body-bytes"),
      DEFAULT_MAX_BODY_BYTES,
    )
    .option("--replica-id <id>", "this replica's name in the log (trigger evaluations, adoptions); default host:pid")
    .option(
      "-j, --parallel <n>",
      "most jobs each build runs at once, for requests that set none",
      positiveInteger("--parallel"),
      availableParallelism(),
    )
    .option(
      "--retries <n>",
      "extra attempts for retryable job failures (killed by a signal, launch failure, lost)",
      nonNegativeInteger("--retries"),
      DEFAULT_BUILD_REQUEST.retries,
    )
    .option(
      "--heartbeat <seconds>",
      "heartbeat period of builds and their jobs",
      positiveSeconds("--heartbeat", { min: 0.05, max: 3600 }),
      DEFAULT_BUILD_REQUEST.heartbeatMs / 1000,
    )
    .option(
      "--heartbeat-timeout <seconds>",
      "after this long without a heartbeat, a build may be declared lost and its work taken over (by another replica too)",
      positiveSeconds("--heartbeat-timeout", { min: 0.5, max: 86_400 }),
      DEFAULT_BUILD_REQUEST.heartbeatTimeoutMs / 1000,
    )
    .option(
      "--shutdown-grace <seconds>",
      "at SIGTERM, how long running builds may go on before they are handed to another replica",
      positiveSeconds("--shutdown-grace", { min: 0, max: 86_400 }),
      DEFAULT_SHUTDOWN_GRACE_MS / 1000,
    )
    .addOption(
      new Option("--log-level <level>", "the service's own JSON log on stderr")
        .choices(["debug", "info", "warn", "error", "silent"])
        .default("info"),
    )
    .addHelpText(
      "after",
      "\nStops gracefully at SIGTERM or Ctrl-C (exit 0): /healthz answers 503, running builds get --shutdown-grace\n" +
        "to finish, the rest are handed over to another replica. Exit 2: bad flags, a graph that does not load,\n" +
        "or --host off loopback without TLS. See docs/service.md.",
    )
    .action(async (options: ServeOptions) => {
      const ctx = context();
      const stderr = ctx.io.stderr;
      if (options.heartbeatTimeout <= options.heartbeat)
        throw new UsageError(
          `--heartbeat-timeout (${options.heartbeatTimeout} s) must be longer than --heartbeat (${options.heartbeat} s)`,
        );
      if ((options.tlsCert === undefined) !== (options.tlsKey === undefined))
        throw new UsageError("--tls-cert and --tls-key go together: give both or neither");
      const tls = options.tlsCert
        ? { cert: readPem(options.tlsCert, "--tls-cert"), key: readPem(options.tlsKey!, "--tls-key") }
        : undefined;
      const problem = serveProblem({ host: options.host, tls });
      if (problem) throw new UsageError(problem);
      const graphFile = ctx.graphFile();
      const graph = await ctx.loadGraph();
      // PostgreSQL: the pool's default (4) starves once several builds plan and claim at once.
      const log = await ctx.openEventLog({ maxConnections: 4 + 2 * options.maxConcurrentBuilds });
      let service;
      try {
        service = await startService({
          graph,
          graphFile: isModuleFile(graphFile) ? graphFile : undefined,
          log,
          host: options.host,
          port: options.port,
          tls,
          launcher: options.launcher,
          allowAnonymousRead: options.allowAnonymousRead ?? false,
          maxConcurrentBuilds: options.maxConcurrentBuilds,
          maxBodyBytes: options.maxBodyBytes,
          replicaId: options.replicaId,
          build: {
            parallel: options.parallel,
            retries: options.retries,
            heartbeatMs: options.heartbeat * 1000,
            heartbeatTimeoutMs: options.heartbeatTimeout * 1000,
          },
          shutdownGraceMs: options.shutdownGrace * 1000,
          logger: serviceLogger({ level: options.logLevel }),
          summarize: explanationSummary,
        });
      } catch (error) {
        await log.close();
        if ((error as NodeJS.ErrnoException).code === "EADDRINUSE")
          throw new UsageError(`--port ${options.port}: the address ${options.host}:${options.port} is in use`);
        throw error;
      }
      stderr.write(`databuild serve: listening on ${service.url}\n`);
      // Serves until SIGTERM or SIGINT; a second one exits at once.
      await new Promise<void>((resolve) => {
        let received = 0;
        const onSignal = (signal: NodeJS.Signals) => {
          if (++received > 1) process.exit(130);
          stderr.write(`databuild serve: ${signal}: shutting down (again to exit at once)\n`);
          resolve();
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
      });
      try {
        await service.shutdown();
      } finally {
        await log.close();
      }
      stderr.write("databuild serve: stopped\n");
      setExitCode(EXIT_OK);
    });
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(
      `${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
}

/** A graph module (which may hold in-process jobs), not a manifest. */
function isModuleFile(file: string): boolean {
  return /\.(ts|mts|js|mjs)$/i.test(file);
}
