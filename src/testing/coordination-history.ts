/**
 * @module Test support for coordination's pure decisions: a small history of
 * build events written by hand (build requests with their host, pid and
 * lease, claims, job runs, manifests with lineage), folded into a SharedView
 * as the log would give it, and a fake host whose processes a test sets.
 */
import { DepType, PartitionStatus, type BuildEvent } from "../gen/databuild_pb.ts";
import { eventPayload as payload, type EventPayload } from "../core/build-event.ts";
import type { LoggedEvent } from "../core/event-log.ts";
import { newEvent } from "../core/new-event.ts";
import { SharedView, type HostProcesses, type ProcessFacts } from "../coordination/index.ts";
import { timestampAtMs } from "../core/timestamp.ts";

const ref = (str: string) => ({ str });

export interface Received {
  readonly hostname?: string;
  readonly pid?: number;
  readonly heartbeatTimeoutMs?: number;
}

/** Events in log order, each at a time the test gives (ms since the epoch). */
export class History {
  readonly events: LoggedEvent[] = [];

  add(buildRequestId: string, p: EventPayload, ms: number, jobRunId = ""): BuildEvent {
    const event = { ...newEvent({ buildRequestId, jobRunId }, p, ms), timestamp: timestampAtMs(ms) };
    this.events.push({ event, offset: this.events.length + 1 });
    return event;
  }

  /** A build request starts: its lease (host, pid, heartbeat timeout) is recorded. */
  received(id: string, ms: number, lease: Received = {}): this {
    this.add(
      id,
      payload("buildRequestReceived", {
        options: { heartbeatTimeoutMs: lease.heartbeatTimeoutMs ?? 30_000 },
        hostname: lease.hostname ?? "here",
        pid: lease.pid ?? 100,
      }),
      ms,
    );
    return this;
  }

  claimed(id: string, refs: readonly string[], ms: number): this {
    this.add(id, payload("partitionsClaimed", { partitions: refs.map(ref) }), ms);
    return this;
  }

  heartbeat(id: string, ms: number): this {
    this.add(id, payload("buildHeartbeat", { runningJobs: 1 }), ms);
    return this;
  }

  /** A job run of `id` producing `output` is scheduled and launched as `pid` on `hostname`. */
  launched(id: string, jobRunId: string, output: string, ms: number, pid: number, hostname = "here"): this {
    const task = { job: { label: output.split("/")[0]! }, config: { outputs: [ref(output)] } };
    this.add(id, payload("jobScheduleSuccess", { task, attempt: 1 }), ms, jobRunId);
    this.add(id, payload("configValidateSuccess", { task }), ms, jobRunId);
    this.add(id, payload("taskLaunchSuccess", { task, pid, hostname }), ms, jobRunId);
    return this;
  }

  /** `id` built `output` from `inputs` (materialized): its manifest, then AVAILABLE. */
  built(id: string, output: string, inputs: readonly string[], ms: number, jobRunId = `run-${output}`): this {
    this.add(
      id,
      payload("partitionManifest", {
        outputs: [ref(output)],
        inputs: inputs.map((input) => ({ partitionRef: ref(input), depType: DepType.MATERIALIZE })),
        task: { job: { label: output.split("/")[0]! } },
        buildRequestId: id,
        jobRunId,
        jobVersion: "1.0.0",
        graphLabel: "g",
        endTime: timestampAtMs(ms),
      }),
      ms,
      jobRunId,
    );
    this.add(
      id,
      payload("partitionStatusChanged", {
        partitionRef: ref(output),
        status: PartitionStatus.PARTITION_AVAILABLE,
        jobRunId,
      }),
      ms,
      jobRunId,
    );
    return this;
  }

  /** The shared view folded from these events. */
  view(): SharedView {
    const view = new SharedView();
    view.apply(this.events);
    return view;
  }
}

/** A host whose processes the test sets: any pid not set is gone. */
export class FakeHost implements HostProcesses {
  readonly processes = new Map<number, ProcessFacts>();
  readonly environments = new Map<number, string[]>();
  readonly kills: { pid: number; group: boolean }[] = [];

  constructor(
    readonly hostname = "here",
    readonly pid = 1,
  ) {}

  /** Sets what the host says of `pid`. */
  process(pid: number, facts: ProcessFacts, environment?: string[]): this {
    this.processes.set(pid, facts);
    if (environment) this.environments.set(pid, environment);
    return this;
  }

  inspect(pid: number): ProcessFacts {
    return this.processes.get(pid) ?? { exists: false };
  }

  environment(pid: number): readonly string[] | undefined {
    return this.processes.get(pid)?.exists ? this.environments.get(pid) : undefined;
  }

  withEnvironment(entry: string): number[] {
    return [...this.environments]
      .filter(([pid, env]) => this.environment(pid) && env.includes(entry))
      .map(([pid]) => pid);
  }

  kill(pid: number, options: { readonly group?: boolean } = {}): void {
    this.kills.push({ pid, group: options.group ?? false });
  }
}
