/**
 * @module The build requests this process is running now. A lease held by
 * this very process is alive while its build runs here, however late its
 * heartbeat: a service running several builds on a busy event loop must not
 * declare its own siblings lost (and take their claims over) because their
 * heartbeats queued behind each other's planning.
 */

const running = new Set<string>();

/** Marks `buildRequestId` as running in this process until the returned function is called. */
export function markRunningHere(buildRequestId: string): () => void {
  running.add(buildRequestId);
  return () => running.delete(buildRequestId);
}

/** Whether `buildRequestId` runs in this process now. */
export function runsHere(buildRequestId: string): boolean {
  return running.has(buildRequestId);
}
