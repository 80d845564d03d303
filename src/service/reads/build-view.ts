/**
 * @module BuildView: one service build's window on the LiveLog's shared
 * view. The model (catalog, claims, build requests) is the LiveLog's: each
 * event is applied to it once, whoever read it first (the LiveLog's watch,
 * this build, a sibling build, an atomic append's decide). The cursor is the
 * build's own: what the build reads after it, it is handed as fresh, exactly
 * as a view of its own would hand it (delegations and claims react to fresh
 * events), even when the model took those events in earlier.
 *
 * So a service build starts with the live model instead of loading its own
 * from the snapshot and the tail (seconds on a catalog of a million).
 *
 * Invariant: this cursor never passes the shared one (every step that moves
 * it applies the same events to the shared model first), so reading on from
 * this cursor always covers what the shared model lacks, without a gap.
 */
import type { BuildEvent } from "../../gen/databuild_pb.ts";
import type { EventLog, LoggedEvent } from "../../core/event-log.ts";
import { SharedView } from "../../coordination/index.ts";

export class BuildView extends SharedView {
  constructor(private readonly shared: SharedView) {
    super();
    this.cursor = shared.cursor;
  }

  override get catalog(): SharedView["catalog"] {
    return this.shared.catalog;
  }

  override get claims(): SharedView["claims"] {
    return this.shared.claims;
  }

  override get builds(): SharedView["builds"] {
    return this.shared.builds;
  }

  /** Applies to the shared model what it lacks; returns what lies after this build's cursor. */
  override apply(events: readonly LoggedEvent[]): LoggedEvent[] {
    this.shared.apply(events);
    const fresh = events.filter((e) => e.offset > this.cursor);
    if (fresh.length > 0) this.cursor = fresh[fresh.length - 1]!.offset;
    return fresh;
  }

  override applyAppended(events: readonly BuildEvent[], offsets: readonly number[], head: number): LoggedEvent[] {
    const logged = events.map((event, i) => ({ event, offset: offsets[i]! }));
    const fresh = logged.filter((e) => e.offset > this.cursor);
    // The decide saw everything up to `head` (applied through `apply`), the rest is this append.
    this.shared.applyAppended(events, offsets, head);
    this.cursor = Math.max(this.cursor, head);
    return fresh;
  }

  /** Its own events reach the shared model through the log like any other's: nothing to keep. */
  override noteOwn(): void {}

  /** Reads on from its cursor (the shared model takes in what it lacks). */
  override async load(log: EventLog): Promise<void> {
    await this.refresh(log);
  }

  /** Only ever used to snapshot; the LiveLog snapshots the shared model itself (at close). */
  override async catchUpWith(): Promise<void> {}

  override async snapshot(): Promise<void> {}

  override adopt(): void {
    throw new Error("a BuildView shares the LiveLog's model: it adopts none of its own");
  }
}
