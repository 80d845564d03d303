/**
 * @module Prometheus metrics at /metrics (SPEC 3.7), derived from the log
 * through the LiveLog (so every replica reports the same builds and job
 * runs), beside what only this replica knows: its build queue, its running
 * builds, and the requests it served.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import {
  BuildRequestStatus,
  ExitCategory,
  JobRunStatus,
  type JobRunView,
  type TriggerView,
} from "../gen/databuild_pb.ts";
import type { LoggedEvent } from "../core/event-log.ts";
import type { LiveLog } from "./reads/index.ts";

export interface MetricsSources {
  readonly live: LiveLog;
  readonly queueDepth: () => number;
  readonly runningBuilds: () => number;
  readonly triggers: () => readonly TriggerView[];
}

/** A job run's outcome as the metric labels it: "succeeded", or the exit category ("job_failure", "lost", ...). */
export function outcomeLabel(category: ExitCategory): string {
  if (category === ExitCategory.EXIT_SUCCESS) return "succeeded";
  if (category === ExitCategory.EXIT_CATEGORY_UNSPECIFIED) return "failed";
  return (ExitCategory[category] ?? "failed").replace(/^EXIT_/, "").toLowerCase();
}

function statusLabel(status: BuildRequestStatus): string {
  return (BuildRequestStatus[status] ?? "unspecified").replace(/^BUILD_REQUEST_(STATUS_)?/, "").toLowerCase();
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"method" | "code">;
  private readonly durations: Histogram<"method" | "code">;
  private readonly jobRuns: Counter<"outcome">;
  private stopEvents: () => void = () => {};

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: "databuild_rpc_requests_total",
      help: "RPCs this replica answered, by method and status code",
      labelNames: ["method", "code"],
      registers,
    });
    this.durations = new Histogram({
      name: "databuild_rpc_duration_seconds",
      help: "How long this replica took to answer RPCs (streams: until they ended)",
      labelNames: ["method", "code"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers,
    });
    this.jobRuns = new Counter({
      name: "databuild_job_runs_total",
      help: "Job runs that ended, in the whole log, by outcome",
      labelNames: ["outcome"],
      registers,
    });
    const { live } = sources;
    new Gauge({
      name: "databuild_build_requests",
      help: "Build requests in the whole log, by status",
      labelNames: ["status"],
      registers,
      collect() {
        this.reset();
        for (const build of live.builds.all()) this.inc({ status: statusLabel(build.status) });
      },
    });
    new Gauge({
      name: "databuild_build_queue_depth",
      help: "Build requests this replica received that wait for a free slot (--max-concurrent-builds)",
      registers,
      collect() {
        this.set(sources.queueDepth());
      },
    });
    new Gauge({
      name: "databuild_builds_running",
      help: "Builds this replica is running",
      registers,
      collect() {
        this.set(sources.runningBuilds());
      },
    });
    new Gauge({
      name: "databuild_trigger_lag_seconds",
      help: "Time since each schedule's last tick (now minus its last tick time)",
      labelNames: ["trigger"],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const trigger of sources.triggers())
          if (trigger.lastTick) this.set({ trigger: trigger.name }, (now - timestampMs(trigger.lastTick)) / 1000);
      },
    });
    new Gauge({
      name: "databuild_log_offset",
      help: "The offset of the last event this replica's live log has applied",
      registers,
      collect() {
        this.set(live.cursor);
      },
    });
  }

  /** Counts the job runs already ended, then follows the live log's events. */
  start(): void {
    for (const run of this.sources.live.jobRuns.all()) {
      const outcome = endedOutcome(run);
      if (outcome) this.jobRuns.inc({ outcome });
    }
    this.stopEvents = this.sources.live.onEvents((events) => this.onEvents(events));
  }

  stop(): void {
    this.stopEvents();
  }

  /** One answered RPC. */
  observeRequest(method: string, code: string, seconds: number): void {
    this.requests.inc({ method, code });
    this.durations.observe({ method, code }, seconds);
  }

  private onEvents(events: readonly LoggedEvent[]): void {
    for (const { event } of events) {
      const p = event.event;
      // A job run's first end event (jobExecFail follows these, and is not counted again).
      if (p.case === "taskSuccess") this.jobRuns.inc({ outcome: "succeeded" });
      else if (p.case === "taskFailed") this.jobRuns.inc({ outcome: outcomeLabel(p.value.category) });
      else if (p.case === "taskLaunchFail") this.jobRuns.inc({ outcome: "launch_failure" });
      else if (p.case === "configValidateFail") this.jobRuns.inc({ outcome: "config_failure" });
    }
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

function endedOutcome(run: JobRunView): string | undefined {
  if (run.status === JobRunStatus.JOB_RUN_SUCCEEDED) return "succeeded";
  if (run.status !== JobRunStatus.JOB_RUN_FAILED) return undefined;
  if (run.exitCategory === ExitCategory.EXIT_CATEGORY_UNSPECIFIED) return "failed";
  return outcomeLabel(run.exitCategory);
}
