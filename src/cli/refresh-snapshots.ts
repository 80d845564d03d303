/**
 * @module After a command that wrote events (build, invalidate): bring the
 * read-model snapshots up to date. A cache: a failure here is a note, never
 * a failed command.
 */
import type { EventLog } from "../core/event-log.ts";
import { refreshSnapshots } from "../executor/read-models.ts";
import type { CommandContext } from "./context.ts";

export async function refreshSnapshotsQuietly(log: EventLog, ctx: CommandContext): Promise<void> {
  try {
    await refreshSnapshots(log, { note: ctx.note });
  } catch (error) {
    ctx.note(`read-model snapshots were not updated: ${(error as Error).message}`);
  }
}
