/**
 * @module The graph's triggers in a replica (SPEC 3.8), through src/triggers:
 * the trigger book (a model of the LiveLog), the trigger runner (every
 * replica runs one; each tick is claimed in the log, so it makes one build
 * request across replicas), and ListTriggers, PauseTrigger, ResumeTrigger.
 */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type {
  ListTriggersResponse,
  PauseTriggerRequest,
  ResumeTriggerRequest,
  TriggerView,
} from "../gen/databuild_pb.ts";
import type { EventLog } from "../core/event-log.ts";
import type { Graph } from "../core/graph.ts";
import type { ReadModel } from "../core/read-model.ts";
import { setTriggerPaused, TriggerBook, TriggerRunner, triggerViews, UnknownTriggerError } from "../triggers/index.ts";
import type { BuildRequest } from "../executor/build-request.ts";
import { principalOf } from "./auth.ts";
import type { LiveLog } from "./reads/index.ts";
import type { ServiceLogger } from "./service-logger.ts";
import { buildRequestOf, type BuildDefaults } from "./write-rpcs.ts";

export interface ServiceTriggersOptions {
  readonly graph: Graph;
  readonly log: EventLog;
  readonly replicaId: string;
  readonly logger: ServiceLogger;
  readonly pollMs?: number;
}

export interface TriggerStart {
  readonly live: LiveLog;
  readonly defaults: BuildDefaults;
  /** Runs a trigger's build request (its TriggerTick and BuildRequestReceived are logged). */
  readonly startBuild: (request: BuildRequest & { buildRequestId: string }) => void;
}

export class ServiceTriggers {
  readonly book = new TriggerBook();
  private runner: TriggerRunner | undefined;

  constructor(private readonly options: ServiceTriggersOptions) {}

  /** The read models the LiveLog keeps for the triggers. */
  get models(): ReadModel[] {
    return [this.book];
  }

  views(): TriggerView[] {
    return triggerViews(this.options.graph, this.book, Date.now());
  }

  /** Starts this replica's trigger runner (every replica runs one: the log decides each tick once). */
  start(start: TriggerStart): void {
    const { graph, log, replicaId, logger, pollMs } = this.options;
    if (graph.triggers.length === 0) return;
    const { defaults } = start;
    this.runner = new TriggerRunner({
      log,
      graph,
      replicaId,
      pollMs,
      requestFor: (refs, trigger) => ({
        ...buildRequestOf(refs, undefined, defaults, `trigger ${trigger}`),
        received: { origin: "trigger", trigger },
      }),
      startBuild: (request) => start.startBuild({ ...request, buildRequestId: request.buildRequestId ?? "" }),
      onTick: (tick) =>
        logger.info(
          { event: "trigger_tick", trigger: tick.trigger, tickKey: tick.tickKey, outcome: tick.outcome },
          tick.message || `trigger ${tick.trigger} ticked`,
        ),
      note: (message) => logger.warn({ event: "trigger_note" }, message),
    });
    void this.runner
      .start()
      .catch((error: unknown) =>
        logger.error({ event: "trigger_runner_failed", err: error }, "the trigger runner stopped"),
      );
  }

  async stop(): Promise<void> {
    await this.runner?.stop();
  }

  rpcs(live: LiveLog) {
    const { log, graph } = this.options;
    const setPaused = async (name: string, paused: boolean, context: HandlerContext) => {
      const principal = principalOf(context);
      if (name === "") throw new ConnectError("trigger is required", Code.InvalidArgument);
      try {
        const view = await setTriggerPaused(log, graph, name, paused, principal.name);
        await live.caughtUpTo(await log.head());
        return view;
      } catch (error) {
        if (error instanceof UnknownTriggerError) throw new ConnectError(error.message, Code.NotFound);
        throw error;
      }
    };
    return {
      listTriggers: (): ListTriggersResponse => ({
        $typeName: "databuild.v1.ListTriggersResponse",
        triggers: this.views(),
      }),
      pauseTrigger: (req: PauseTriggerRequest, context: HandlerContext) => setPaused(req.trigger, true, context),
      resumeTrigger: (req: ResumeTriggerRequest, context: HandlerContext) => setPaused(req.trigger, false, context),
    };
  }
}
