/**
 * @module Test support shared by the files of the EventLog contract suite
 * (event-log-contract.ts and the case files it gathers).
 */
import type { EventLog, LoggedEvent } from "../core/event-log.ts";

/**
 * Appends `count` events of build request `scope` for each of `scopes`, each
 * scope through a connection of its own, all at the same time; resolves once
 * all are acknowledged.
 */
export type OtherWriters = (scopes: readonly string[], count: number) => Promise<void>;

/** What a case gets besides its fresh log. */
export interface CaseContext {
  readonly writers: OtherWriters;
}

export type Case = (log: EventLog, context: CaseContext) => Promise<void>;

export const ids = (logged: readonly LoggedEvent[]) => logged.map((l) => l.event.eventId);
export const offsets = (logged: readonly LoggedEvent[]) => logged.map((l) => l.offset);

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Enough time for a polling backend (short interval) to have delivered anything pending. */
export const settle = () => new Promise((r) => setTimeout(r, 300));
