/**
 * @module The trigger runner (SPEC 3.8): what every service replica runs to
 * evaluate the graph's schedules and sensors. It keeps one trigger book and
 * one partition catalog loaded and follows the log from their cursor. Each
 * tick or firing is claimed in `appendAtomically`: the decision re-checks,
 * under the log's lock, that no TriggerTick of that trigger and key exists,
 * and appends the TriggerTick (with, for REQUESTED, the build's
 * BuildRequestReceived) or nothing. So any number of replicas, restarts and
 * races make one build request per tick.
 *
 * Schedules: the due ticks (schedule-ticks.ts) are evaluated oldest first;
 * a paused schedule records PAUSED_AT_TICK, a tick whose partitions are all
 * available (and not stale) NOTHING_TO_DO. Sensors record only what they
 * decide: a candidate whose inputs are not all available, or which is
 * available and fresh already, records nothing; a paused sensor is not
 * evaluated (it fires once resumed, for what landed meanwhile).
 */
import type { BuildEvent, TriggerTick } from "../gen/databuild_pb.ts";
import { DepType, PartitionStatus, TriggerOutcome } from "../gen/databuild_pb.ts";
import { eventPayload, type EventCase } from "../core/build-event.ts";
import type { EventFilter, EventLog, LoggedEvent } from "../core/event-log.ts";
import type { Graph } from "../core/graph.ts";
import { newId } from "../core/ids.ts";
import { configureOptions } from "../core/job.ts";
import { refProblem } from "../core/partition-ref.ts";
import { newEvent } from "../core/new-event.ts";
import { PARTITION_CATALOG_KINDS, type PartitionCatalog } from "../core/projections/partition-catalog.ts";
import { TRIGGER_BOOK_KINDS, TriggerBook } from "../core/projections/triggers.ts";
import { Staleness } from "../core/staleness.ts";
import type {
  EagerSensorDefinition,
  FunctionSensorDefinition,
  ScheduleDefinition,
  SensorContext,
  TriggerDefinition,
} from "../core/triggers.ts";
import { currentJob, loadReadModels, SharedViewModel } from "../coordination/index.ts";
import type { BuildRequest } from "../executor/build-request.ts";
import { buildRequestReceivedPayload } from "../executor/build-graph.ts";
import { eagerCandidates, eagerFiringKey } from "./eager-candidates.ts";
import { dueTicks, scheduleTickKey } from "./schedule-ticks.ts";
import { timestampAtMs } from "../core/timestamp.ts";

export interface TriggerRunnerOptions {
  readonly log: EventLog;
  readonly graph: Graph;
  /** Names this replica in the ticks it evaluates (`evaluated_by`). */
  readonly replicaId: string;
  /** The BuildRequest for a tick's partitions; the service fills defaults and the requester. */
  readonly requestFor: (refs: readonly string[], trigger: string) => BuildRequest;
  /**
   * Called once the tick is claimed: its TriggerTick (REQUESTED) and the
   * build's BuildRequestReceived are in the log (one atomic append, under
   * `request.buildRequestId`; `request.receivedRecorded` is set). Runs the build.
   */
  readonly startBuild: (request: BuildRequest) => void;
  /** The clock, in ms (tests pass their own). */
  readonly now?: () => number;
  /** How often triggers are evaluated (default 1000 ms). */
  readonly pollMs?: number;
  /** Told of every tick this runner recorded, with its offset. */
  readonly onTick?: (tick: TriggerTick, offset: number) => void;
  /** Told of problems that record nothing (the log unreachable, a sensor that throws). */
  readonly note?: (message: string) => void;
}

const FOLLOW_KINDS: readonly EventCase[] = [...new Set([...TRIGGER_BOOK_KINDS, ...PARTITION_CATALOG_KINDS])];
const FOLLOW_FILTER: EventFilter = { kinds: FOLLOW_KINDS };
const TRIGGER_KINDS = new Set<string>(TRIGGER_BOOK_KINDS);
const CATALOG_KINDS = new Set<string>(PARTITION_CATALOG_KINDS);
const PAGE = 10_000;

/** One tick or firing, decided before the atomic append and checked again inside it. */
interface Proposal {
  readonly trigger: TriggerDefinition;
  readonly key: string;
  readonly tickMs: number;
  /** FAILED with this message (the partitions could not be computed or are no refs of the graph). */
  readonly failure?: string;
  readonly partitions: readonly string[];
  readonly outcome?: TriggerOutcome.TRIGGER_MISSED;
  readonly message?: string;
  /** An eager firing: the inputs' job runs it was decided on (it is dropped if they changed meanwhile). */
  readonly inputs?: readonly { ref: string; jobRunId: string }[];
  /** A schedule's tick is evaluated only after its latest recorded tick. */
  readonly schedule?: boolean;
}

export class TriggerRunner {
  private readonly log: EventLog;
  private readonly graph: Graph;
  private readonly now: () => number;
  private readonly pollMs: number;
  private book = new TriggerBook();
  private catalog!: PartitionCatalog;
  private cursor = 0;
  private startedMs = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Per eager sensor: target refs to look at on the next evaluation. */
  private readonly pending = new Map<string, Set<string>>();
  /** Per function sensor: when it was evaluated last. */
  private readonly evaluatedMs = new Map<string, number>();
  /** The last problem noted per trigger, so a sensor failing every poll is told once. */
  private readonly noted = new Map<string, string>();

  constructor(private readonly options: TriggerRunnerOptions) {
    this.log = options.log;
    this.graph = options.graph;
    this.now = options.now ?? Date.now;
    this.pollMs = options.pollMs ?? 1000;
  }

  /** The book as this runner knows it (for tests and the service's listing). */
  get triggerBook(): TriggerBook {
    return this.book;
  }

  /**
   * Loads the trigger book and the catalog, evaluates every trigger once
   * (catching up missed ticks up to each schedule's limit), then evaluates
   * them every `pollMs` until `stop`.
   */
  async start(): Promise<void> {
    const [book, shared] = await loadReadModels<TriggerBook | SharedViewModel>(
      this.log,
      [() => new TriggerBook(), () => new SharedViewModel()],
      { note: this.options.note },
    );
    this.book = book!.model as TriggerBook;
    this.catalog = (shared!.model as SharedViewModel).catalog;
    // Both were folded to the same head (the loader reads on to it for every model).
    this.cursor = Math.min(book!.cursor, shared!.cursor);
    this.startedMs = this.now();
    for (const trigger of this.graph.triggers)
      if (trigger.kind === "sensor" && trigger.policy === "eager") this.seedEager(trigger);
    this.stopped = false;
    await this.evaluateOnce();
    this.schedule();
  }

  /** Stops the loop; resolves once an evaluation in progress has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Evaluates every trigger once now (the loop calls it; tests may too). */
  evaluateOnce(): Promise<void> {
    const run = (this.running ?? Promise.resolve()).then(() => this.evaluate());
    this.running = run.catch(() => {});
    return run;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.evaluateOnce()
        .catch((error: unknown) => this.options.note?.(`triggers: evaluation failed: ${(error as Error).message}`))
        .finally(() => this.schedule());
    }, this.pollMs);
  }

  private async evaluate(): Promise<void> {
    await this.follow();
    const now = this.now();
    const proposals: Proposal[] = [];
    for (const trigger of this.graph.triggers) {
      if (trigger.kind === "schedule") proposals.push(...this.scheduleProposals(trigger, now));
      else if (this.book.isPaused(trigger.name)) continue;
      else if (trigger.policy === "eager") proposals.push(...(await this.eagerProposals(trigger, now)));
      else {
        const proposal = await this.functionProposal(trigger, now);
        if (proposal) proposals.push(proposal);
      }
    }
    if (proposals.length > 0) await this.claim(proposals, now);
  }

  /** Reads what was logged since the cursor. */
  private async follow(): Promise<void> {
    for (;;) {
      const page = await this.log.read(this.cursor, FOLLOW_FILTER, PAGE);
      this.applyAll(page);
      if (page.length < PAGE) return;
    }
  }

  private applyAll(events: readonly LoggedEvent[]): void {
    for (const { event, offset } of events) if (offset > this.cursor) this.apply(event, offset);
  }

  private apply(event: BuildEvent, offset: number): void {
    this.cursor = Math.max(this.cursor, offset);
    const kind = event.event.case ?? "";
    if (TRIGGER_KINDS.has(kind)) this.book.apply(event, offset);
    if (CATALOG_KINDS.has(kind)) this.catalog.apply(event, offset);
    if (event.event.case === "partitionManifest") for (const output of event.event.value.outputs) this.wake(output.str);
  }

  /** A partition landed: the eager sensors it may make ready look at their candidates next time. */
  private wake(ref: string): void {
    for (const trigger of this.graph.triggers) {
      if (trigger.kind !== "sensor" || trigger.policy !== "eager") continue;
      const candidates = eagerCandidates(trigger, ref);
      if (candidates.length === 0) continue;
      const pending = this.pendingOf(trigger.name);
      for (const candidate of candidates) pending.add(candidate);
    }
  }

  /** Partitions that landed since the sensor last fired (all of them if it never did) wake it at start. */
  private seedEager(sensor: EagerSensorDefinition): void {
    const since = this.book.get(sensor.name)?.last?.offset ?? 0;
    const pending = this.pendingOf(sensor.name);
    for (const [ref, entry] of this.catalog.entries())
      if (entry.built && entry.built.offset > since) for (const c of eagerCandidates(sensor, ref)) pending.add(c);
  }

  private pendingOf(name: string): Set<string> {
    let pending = this.pending.get(name);
    if (!pending) this.pending.set(name, (pending = new Set()));
    return pending;
  }

  private scheduleProposals(schedule: ScheduleDefinition, now: number): Proposal[] {
    const after = this.book.get(schedule.name)?.latestTickMs ?? this.startedMs;
    const due = dueTicks(schedule, after, now);
    const proposals: Proposal[] = [];
    if (due.missed) {
      const { firstMs, lastMs } = due.missed;
      const range =
        firstMs === lastMs
          ? `the tick at ${scheduleTickKey(firstMs)} was`
          : `the ticks from ${scheduleTickKey(firstMs)} to ${scheduleTickKey(lastMs)} were`;
      proposals.push({
        trigger: schedule,
        key: scheduleTickKey(lastMs),
        tickMs: lastMs,
        partitions: [],
        outcome: TriggerOutcome.TRIGGER_MISSED,
        message: `${range} missed (past the catch-up limit of ${schedule.catchUpLimit})`,
        schedule: true,
      });
    }
    for (const tickMs of due.evaluate) {
      let partitions: string[] = [];
      let failure: string | undefined;
      try {
        partitions = schedule.partitions(new Date(tickMs));
        failure = this.refsProblem(partitions);
      } catch (error) {
        failure = `its partitions could not be computed: ${(error as Error).message}`;
      }
      proposals.push({ trigger: schedule, key: scheduleTickKey(tickMs), tickMs, partitions, failure, schedule: true });
    }
    return proposals;
  }

  /** Why `refs` cannot be requested (malformed, or no job produces one), or undefined. */
  private refsProblem(refs: readonly string[]): string | undefined {
    if (refs.length === 0) return "it requested no partitions";
    for (const ref of refs) {
      const problem = refProblem(ref);
      if (problem) return `malformed partition ref ${JSON.stringify(ref)}: ${problem}`;
    }
    try {
      this.graph.lookup(refs);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  private async eagerProposals(sensor: EagerSensorDefinition, now: number): Promise<Proposal[]> {
    const pending = this.pending.get(sensor.name);
    if (!pending || pending.size === 0) return [];
    const candidates = [...pending];
    pending.clear();
    const staleness = this.staleness();
    const wanted = candidates.filter((ref) => !staleness.isUsable(ref));
    if (wanted.length === 0) return [];
    let byJob;
    try {
      byJob = this.graph.lookup(wanted);
    } catch (error) {
      this.noteOnce(sensor.name, `sensor ${sensor.name}: ${(error as Error).message}`);
      return [];
    }
    const proposals: Proposal[] = [];
    for (const [job, refs] of byJob) {
      let configs;
      try {
        configs = await job.configure(refs, configureOptions(job));
      } catch (error) {
        this.noteOnce(sensor.name, `sensor ${sensor.name}: configuring job ${job.label}: ${(error as Error).message}`);
        continue;
      }
      for (const { ref } of refs) {
        const config = configs.find((c) => c.outputs.some((o) => o.str === ref));
        if (!config) continue;
        const inputs: { ref: string; jobRunId: string }[] = [];
        let ready = true;
        for (const input of config.inputs) {
          if (input.depType === DepType.QUERY) continue;
          const built = this.catalog.available(input.partitionRef?.str ?? "");
          if (!built) {
            ready = false;
            break;
          }
          inputs.push({ ref: input.partitionRef!.str, jobRunId: built.jobRunId });
        }
        if (!ready) continue;
        const key = eagerFiringKey(ref, inputs);
        if (this.book.claimed(sensor.name, key)) continue;
        proposals.push({ trigger: sensor, key, tickMs: now, partitions: [ref], inputs });
      }
    }
    return proposals;
  }

  private async functionProposal(sensor: FunctionSensorDefinition, now: number): Promise<Proposal | undefined> {
    const interval = sensor.intervalMs ?? 0;
    const last = this.evaluatedMs.get(sensor.name);
    if (last !== undefined && now - last < interval) return undefined;
    this.evaluatedMs.set(sensor.name, now);
    const record = this.book.get(sensor.name)?.last;
    const context: SensorContext = {
      now: new Date(now),
      isAvailable: (ref) => this.catalog.available(ref) !== undefined,
      partition: (ref) => {
        const entry = this.catalog.get(ref);
        if (!entry) return undefined;
        const endMs = entry.built?.endMs;
        return {
          status: statusWord(entry.status),
          builtByJobRun: entry.built?.jobRunId ?? "",
          builtAt: endMs === undefined ? undefined : new Date(endMs),
        };
      },
      lastFiring: record && { key: record.key, time: new Date(record.tickMs) },
    };
    let firing;
    try {
      firing = await sensor.evaluate(context);
    } catch (error) {
      this.noteOnce(sensor.name, `sensor ${sensor.name}: evaluate threw: ${(error as Error).message}`);
      return undefined;
    }
    if (firing === undefined || firing === null) return undefined;
    if (typeof firing.key !== "string" || firing.key === "" || !Array.isArray(firing.partitions)) {
      this.noteOnce(sensor.name, `sensor ${sensor.name}: evaluate must return { key, partitions } or undefined`);
      return undefined;
    }
    if (this.book.claimed(sensor.name, firing.key)) return undefined;
    const partitions = [...new Set(firing.partitions)];
    return { trigger: sensor, key: firing.key, tickMs: now, partitions, failure: this.refsProblem(partitions) };
  }

  /** Claims the proposals in one atomic append; starts the builds of those it requested. */
  private async claim(proposals: readonly Proposal[], now: number): Promise<void> {
    // Built outside the decision (the service's requestFor may do anything); used only if claimed.
    const requests = new Map<Proposal, BuildRequest>();
    for (const p of proposals)
      if (p.outcome === undefined && p.failure === undefined && p.partitions.length > 0) {
        const base = this.options.requestFor(p.partitions, p.trigger.name);
        requests.set(p, {
          ...base,
          buildRequestId: base.buildRequestId ?? newId(),
          received: { ...base.received, origin: "trigger", trigger: p.trigger.name },
          receivedRecorded: true,
        });
      }
    const outcome = await this.log.appendAtomically(this.cursor, FOLLOW_FILTER, (events) => {
      this.applyAll(events);
      const staleness = this.staleness();
      const append: BuildEvent[] = [];
      const ticks: { tick: TriggerTick; index: number }[] = [];
      const started: BuildRequest[] = [];
      const latest = new Map<string, number>();
      const claimedHere = new Set<string>();
      for (const p of proposals) {
        const name = p.trigger.name;
        if (this.book.claimed(name, p.key) || claimedHere.has(`${name}\n${p.key}`)) continue;
        claimedHere.add(`${name}\n${p.key}`);
        if (p.schedule) {
          const after = Math.max(latest.get(name) ?? -Infinity, this.book.get(name)?.latestTickMs ?? -Infinity);
          if (p.tickMs <= after) continue;
          latest.set(name, p.tickMs);
        } else if (this.book.isPaused(name)) continue;
        if (p.inputs && !p.inputs.every((i) => this.catalog.available(i.ref)?.jobRunId === i.jobRunId)) continue;
        const request = requests.get(p);
        let outcome = p.outcome ?? TriggerOutcome.TRIGGER_REQUESTED;
        let message = p.message ?? "";
        if (p.outcome === undefined && p.schedule && this.book.isPaused(name)) {
          outcome = TriggerOutcome.TRIGGER_PAUSED_AT_TICK;
          message = `paused by ${this.book.get(name)!.pausedBy}`;
        } else if (p.failure !== undefined) {
          outcome = TriggerOutcome.TRIGGER_FAILED;
          message = p.failure;
        } else if (p.outcome === undefined && p.partitions.every((ref) => staleness.isUsable(ref))) {
          outcome = TriggerOutcome.TRIGGER_NOTHING_TO_DO;
          message = "every partition is available";
        }
        const requested = outcome === TriggerOutcome.TRIGGER_REQUESTED && request !== undefined;
        const buildRequestId = requested ? request.buildRequestId! : "";
        if (requested) {
          append.push(newEvent({ buildRequestId }, buildRequestReceivedPayload(this.graph.label, request), now));
          started.push(request);
        }
        const event = newEvent(
          { buildRequestId },
          eventPayload("triggerTick", {
            trigger: name,
            tickTime: timestampAtMs(p.tickMs),
            tickKey: p.key,
            outcome,
            partitions: p.partitions.map((str) => ({ str })),
            message,
            evaluatedBy: this.options.replicaId,
          }),
          now,
        );
        ticks.push({ tick: (event.event as { value: TriggerTick }).value, index: append.length });
        append.push(event);
      }
      return { append, result: { ticks, started, append } };
    });
    // This runner's own events, at their offsets (the log commits them after everything decide saw).
    const { ticks, started, append } = outcome.result;
    append.forEach((event, i) => this.apply(event, outcome.offsets[i]!));
    this.cursor = Math.max(this.cursor, outcome.head);
    for (const { tick, index } of ticks) this.options.onTick?.(tick, outcome.offsets[index]!);
    for (const request of started) this.options.startBuild(request);
  }

  private staleness(): Staleness {
    return new Staleness(this.catalog, (ref, builtBy) => currentJob(this.graph, ref, builtBy));
  }

  private noteOnce(name: string, message: string): void {
    if (this.noted.get(name) === message) return;
    this.noted.set(name, message);
    this.options.note?.(message);
  }
}

/** "available", "building", ...: the catalog's status in a sensor's words. */
function statusWord(status: PartitionStatus): string {
  return (PartitionStatus[status] ?? "PARTITION_UNKNOWN").replace("PARTITION_", "").toLowerCase();
}
