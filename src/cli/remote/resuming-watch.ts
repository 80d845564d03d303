/**
 * @module WatchEvents that survives a replica restart: when the stream
 * breaks (the replica stopped, the connection dropped) it is opened again
 * from the offset after the last event it delivered, so no event is missed
 * or repeated, until the service has been unreachable for `giveUpAfterMs`.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { LoggedBuildEvent, WatchEventsRequest } from "../../gen/databuild_pb.ts";
import type { RemoteService } from "./client.ts";

export interface ResumeOptions {
  readonly signal?: AbortSignal;
  /** Told once per outage, and again when the stream is back. */
  readonly note: (message: string) => void;
  readonly giveUpAfterMs?: number;
  /**
   * Whether a stream that ended without an error is done. A replica that
   * stops may end it cleanly: until this says so, it is opened again.
   */
  readonly complete?: () => boolean;
  /** The service answered before (RequestBuild): a first open that fails is retried too. */
  readonly reached?: boolean;
}

/** Codes a restarting replica or a dropped connection end a stream with: worth opening it again. */
const TRANSIENT = new Set([Code.Unavailable, Code.Unknown, Code.Internal, Code.Aborted, Code.Canceled]);

export async function* resumingWatch(
  service: RemoteService,
  request: Omit<Partial<WatchEventsRequest>, "$typeName">,
  options: ResumeOptions,
): AsyncIterable<LoggedBuildEvent> {
  let after = request.afterOffset ?? 0n;
  let failingSince: number | undefined;
  let delayMs = 200;
  let reached = options.reached ?? false;
  const complete = options.complete ?? (() => true);
  for (;;) {
    const openedAt = Date.now();
    try {
      const stream = service.stream("WatchEvents", (c) =>
        c.watchEvents({ ...request, afterOffset: after }, { signal: options.signal }),
      );
      for await (const logged of stream) {
        reached = true;
        if (failingSince !== undefined) {
          options.note(`the stream from ${service.url} is back; resuming after offset ${after}`);
          failingSince = undefined;
          delayMs = 200;
        }
        after = logged.offset;
        yield logged;
      }
      if (complete() || options.signal?.aborted) return;
      // A service that keeps ending the stream early: stop asking, as after an outage.
      if (failingSince !== undefined && Date.now() - failingSince > (options.giveUpAfterMs ?? 60_000)) return;
      failingSince = outage(failingSince, openedAt, "the stream ended early");
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof ConnectError ? error.cause : undefined;
      if (options.signal?.aborted || !reached || !cause || !TRANSIENT.has(cause.code)) throw error;
      if (failingSince !== undefined && Date.now() - failingSince > (options.giveUpAfterMs ?? 60_000)) throw error;
      failingSince = outage(failingSince, openedAt, cause.rawMessage);
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 2, 2_000);
  }

  /** When the outage began: a stream that stayed open a while before it broke starts a new one. */
  function outage(since: number | undefined, openedAt: number, why: string): number {
    if (since !== undefined && Date.now() - openedAt < 5_000) return since;
    options.note(`lost the stream from ${service.url} (${why}); reconnecting to resume after offset ${after}…`);
    delayMs = 200;
    return Date.now();
  }
}
