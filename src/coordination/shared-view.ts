/**
 * @module SharedView: what one build request knows of all the others, folded
 * from the log: the partition catalog (what is available), the claim book
 * (who builds what, who is alive) and the build requests (what was asked and
 * how it went). Every event is applied once, in offset order, whether it
 * arrived by a read, a watch or inside an atomic append. A build keeps one
 * live and snapshots it at its end; every reading command loads it from that
 * snapshot and the events after it.
 */
import type { BuildEvent } from "../gen/databuild_pb.ts";
import type { EventCase } from "../core/build-event.ts";
import type { EventFilter, EventLog, LoggedEvent } from "../core/event-log.ts";
import { BUILD_REQUEST_KINDS, BuildRequests } from "../core/projections/build-requests.ts";
import { CLAIM_KINDS, ClaimBook } from "../core/projections/claims.ts";
import { PARTITION_CATALOG_KINDS, PartitionCatalog } from "../core/projections/partition-catalog.ts";
import { stateObject, type ReadModel } from "../core/read-model.ts";
import { foldAfter, loadReadModel, type LoadOptions } from "./read-model-loader.ts";

export const SHARED_VIEW_KINDS: readonly EventCase[] = [
  ...new Set([...PARTITION_CATALOG_KINDS, ...CLAIM_KINDS, ...BUILD_REQUEST_KINDS]),
];
const PAGE = 10_000;
export const SHARED_VIEW_FILTER: EventFilter = { kinds: SHARED_VIEW_KINDS };

/** The catalog, the claim book and the build requests as one read model: folded together, to one cursor. */
export class SharedViewModel implements ReadModel {
  readonly name = "shared-view";
  readonly catalog = new PartitionCatalog();
  readonly claims = new ClaimBook();
  readonly builds = new BuildRequests();
  readonly version = this.catalog.version * 1_000_000 + this.claims.version * 1000 + this.builds.version;
  readonly kinds = SHARED_VIEW_KINDS;
  private readonly catalogKinds = new Set<string>(PARTITION_CATALOG_KINDS);
  private readonly claimKinds = new Set<string>(CLAIM_KINDS);
  private readonly buildKinds = new Set<string>(BUILD_REQUEST_KINDS);

  apply(event: BuildEvent, offset: number): void {
    const kind = event.event.case ?? "";
    if (this.catalogKinds.has(kind)) this.catalog.apply(event, offset);
    if (this.claimKinds.has(kind)) this.claims.apply(event);
    if (this.buildKinds.has(kind)) this.builds.apply(event);
  }

  saveState(): unknown {
    return { catalog: this.catalog.saveState(), claims: this.claims.saveState(), builds: this.builds.saveState() };
  }

  restoreState(state: unknown): void {
    const saved = stateObject(this.name, state, ["catalog", "claims", "builds"]);
    this.catalog.restoreState(saved.catalog);
    this.claims.restoreState(saved.claims);
    this.builds.restoreState(saved.builds);
  }
}

export class SharedView {
  private model = new SharedViewModel();
  /** The offset of the last event applied. */
  cursor = 0;
  /** Events the build holding this view recorded (durable, of the view's kinds), not yet applied. */
  private own: LoggedEvent[] = [];
  private readonly kindSet = new Set<string>(SHARED_VIEW_KINDS);

  get catalog(): PartitionCatalog {
    return this.model.catalog;
  }

  get claims(): ClaimBook {
    return this.model.claims;
  }

  get builds(): BuildRequests {
    return this.model.builds;
  }

  /**
   * Events the view holds that its last snapshot does not (as far as this
   * process knows): a snapshot is worth writing only once these are many.
   */
  unsnapshotted = 0;

  /** Keeps a snapshot of the view as it is now (a build, at its end), if the log keeps snapshots. */
  async snapshot(log: EventLog): Promise<void> {
    this.unsnapshotted = 0;
    await log.snapshots?.save({
      name: this.model.name,
      version: this.model.version,
      offset: this.cursor,
      state: this.model.saveState(),
    });
  }

  /** Reads and applies everything logged since the cursor; returns what was new. */
  async refresh(log: EventLog): Promise<LoggedEvent[]> {
    const fresh: LoggedEvent[] = [];
    for (;;) {
      const page = this.apply(await log.read(this.cursor, SHARED_VIEW_FILTER, PAGE));
      if (page.length === 0) return fresh;
      for (const e of page) fresh.push(e);
    }
  }

  /**
   * Loads a new view from its latest snapshot and the events after it
   * (read-model-loader.ts), keeping no events in memory; a view already
   * loaded reads on from its cursor.
   */
  async load(log: EventLog, options: LoadOptions = {}): Promise<void> {
    if (this.cursor > 0) {
      this.cursor = (await foldAfter(log, this.model, this.cursor)).cursor;
      return;
    }
    const loaded = await loadReadModel(log, () => new SharedViewModel(), options);
    this.model = loaded.model;
    this.cursor = loaded.cursor;
    this.unsnapshotted = loaded.tail;
  }

  /** Takes over a model loaded elsewhere; `tail`: how many events it applied after its snapshot. */
  adopt(model: SharedViewModel, cursor: number, tail = 0): void {
    this.model = model;
    this.cursor = cursor;
    this.unsnapshotted = tail;
  }

  /** Applies the events after the cursor (earlier ones were applied already); returns those. */
  apply(events: readonly LoggedEvent[]): LoggedEvent[] {
    const fresh = events.filter((e) => e.offset > this.cursor);
    for (const { event, offset } of fresh) this.model.apply(event, offset);
    this.unsnapshotted += fresh.length;
    if (fresh.length > 0) {
      this.cursor = fresh[fresh.length - 1]!.offset;
      if (this.own.length > 0 && this.own[0]!.offset <= this.cursor)
        this.own = this.own.filter((e) => e.offset > this.cursor);
    }
    return fresh;
  }

  /**
   * Keeps events its own build request recorded (now durable at `offsets`),
   * so that `catchUpWith` need not read them back from the log.
   */
  noteOwn(events: readonly BuildEvent[], offsets: readonly number[]): void {
    events.forEach((event, i) => {
      const offset = offsets[i]!;
      if (offset > this.cursor && this.kindSet.has(event.event.case ?? "")) this.own.push({ event, offset });
    });
  }

  /**
   * Brings the view up to the log's head: what other build requests logged
   * since the cursor, read from the log, merged in offset order with the
   * events this one recorded (`noteOwn`), which are not decoded again. Only
   * sound when every event `ownBuildRequestId` logged after the cursor was
   * noted: a build at its end, once its recorder is durable.
   */
  async catchUpWith(log: EventLog, ownBuildRequestId: string): Promise<void> {
    const own = this.own.filter((e) => e.offset > this.cursor).sort((a, b) => a.offset - b.offset);
    this.own = [];
    const head = await log.head();
    const others: LoggedEvent[] = [];
    for (let after = this.cursor; ;) {
      const page = await log.read(after, { ...SHARED_VIEW_FILTER, exceptBuildRequestId: ownBuildRequestId }, PAGE);
      others.push(...page);
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.offset;
    }
    const merged: LoggedEvent[] = [];
    for (let i = 0, j = 0; i < own.length || j < others.length;) {
      if (j >= others.length || (i < own.length && own[i]!.offset < others[j]!.offset)) merged.push(own[i++]!);
      else merged.push(others[j++]!);
    }
    this.apply(merged);
    this.cursor = Math.max(this.cursor, head);
  }

  /** Applies events this build appended atomically, given their offsets and the head after them. */
  applyAppended(events: readonly BuildEvent[], offsets: readonly number[], head: number): LoggedEvent[] {
    const fresh = this.apply(events.map((event, i) => ({ event, offset: offsets[i]! })));
    this.cursor = Math.max(this.cursor, head);
    return fresh;
  }
}
