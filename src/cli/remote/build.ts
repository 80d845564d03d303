/**
 * @module `databuild --server URL build REF...`: RequestBuild, then the
 * build's events (WatchEvents) through the same progress display and the
 * same summary as a local build, and the same exit codes. Ctrl-C asks the
 * service to cancel it (CancelBuildRequest) and keeps showing it until it
 * ends; a second Ctrl-C exits at once.
 */
import { BuildRequestStatus } from "../../gen/databuild_pb.ts";
import { isAdoptable } from "../../core/adoptable.ts";
import { isFinalBuildRequestStatus } from "../../core/build-request-ended.ts";
import { UsageError } from "../../core/errors.ts";
import type { CommandContext } from "../context.ts";
import { EXIT_FAILURE, EXIT_OK } from "../exit-codes.ts";
import { handleInterrupts } from "../interrupt.ts";
import { LineDisplay } from "../progress/line-display.ts";
import { TtyDisplay } from "../progress/tty-display.ts";
import { formatBuildSummary } from "../commands/build-summary.ts";
import { RemoteBuildResult } from "./build-result.ts";
import { connect } from "./reads.ts";
import { resumingWatch } from "./resuming-watch.ts";
import { shortId } from "../format/short-id.ts";
import type { RemoteService } from "./client.ts";

/** How long a lost build request may wait for a replica to continue it (adoption runs every 2 s on each replica). */
const SUCCESSOR_WAIT_MS = 30_000;

/** The build request that continues `lostId`, once a replica adopted it; undefined if none did in time. */
async function successorOf(
  service: RemoteService,
  lostId: string,
  note: (message: string) => void,
): Promise<string | undefined> {
  const deadline = Date.now() + SUCCESSOR_WAIT_MS;
  let told = false;
  for (;;) {
    const view = await service
      .call("GetBuildRequest", (c) => c.getBuildRequest({ buildRequestId: lostId }))
      .catch(() => undefined);
    if (view?.continuedBy) return view.continuedBy;
    if (view && !isAdoptable(view)) return undefined;
    if (Date.now() > deadline) return undefined;
    if (!told)
      note(
        `build request ${lostId} was lost; waiting up to ${SUCCESSOR_WAIT_MS / 1000} s for a replica to continue it`,
      );
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export interface RemoteBuildOptions {
  parallel: number;
  keepGoing?: boolean;
  dryRun?: boolean;
  force?: boolean;
  heartbeat: number;
  heartbeatTimeout: number;
  /** Flags whose values the service decides: named if given. */
  local: readonly string[];
}

export async function remoteBuild(
  ctx: CommandContext,
  refs: readonly string[],
  options: RemoteBuildOptions,
  setExitCode: (code: number) => void,
): Promise<void> {
  if (options.dryRun)
    throw new UsageError(
      `--dry-run cannot be used with --server: a dry run records nothing, so there is no build to watch; ask the service instead with: ${ctx.commandPrefix()} explain ${refs.join(" ")}`,
    );
  if (options.local.length > 0)
    throw new UsageError(
      `${options.local.join(", ")} cannot be used with --server: the service runs the build with its own settings for ${options.local.length === 1 ? "it" : "them"}`,
    );
  const service = connect(ctx);
  const stderr = ctx.io.stderr;
  const started = Date.now();
  const { buildRequestId } = await service.call("RequestBuild", (c) =>
    c.requestBuild({
      partitions: refs.map((str) => ({ str })),
      options: {
        parallel: options.parallel,
        keepGoing: options.keepGoing ?? false,
        force: options.force ?? false,
        heartbeatIntervalMs: Math.round(options.heartbeat * 1000),
        heartbeatTimeoutMs: Math.round(options.heartbeatTimeout * 1000),
      },
    }),
  );
  const display =
    stderr.isTTY && ((stderr as NodeJS.WriteStream).rows ?? 0) > 0
      ? new TtyDisplay(stderr as NodeJS.WriteStream)
      : new LineDisplay((line) => stderr.write(line + "\n"));
  const interrupts = handleInterrupts(
    stderr,
    `interrupted: asking the service at ${service.url} to cancel build request ${buildRequestId}`,
  );
  const cancelled = new Promise<void>((resolve) => interrupts.signal.addEventListener("abort", () => resolve()));
  void cancelled.then(() =>
    service
      .call("CancelBuildRequest", (c) => c.cancelBuildRequest({ buildRequestId }))
      .catch((error: Error) => stderr.write(`databuild: ${error.message}\n`)),
  );
  let result = new RemoteBuildResult(buildRequestId);
  const note = (message: string) => display.note(`databuild: ${message}`);
  try {
    for (;;) {
      const watched = result;
      // The stream ends once the build request has ended (a final status, or declared lost); it resumes across replica restarts.
      const events = resumingWatch(
        service,
        { buildRequestId: watched.buildRequestId },
        { note, reached: true, complete: () => isFinalBuildRequestStatus(watched.status) },
      );
      for await (const { event } of events) {
        if (!event) continue;
        display.observe(event);
        watched.apply(event);
      }
      if (watched.status !== BuildRequestStatus.BUILD_REQUEST_LOST || interrupts.signal.aborted) break;
      // A replica that stopped or died: another one continues the build request under a new id.
      const successor = await successorOf(service, watched.buildRequestId, note);
      if (!successor) break;
      note(
        `build request ${watched.buildRequestId} was lost with its replica; build request ${successor} continues it (${ctx.commandPrefix()} events --build ${shortId(successor)})`,
      );
      result = new RemoteBuildResult(successor);
    }
  } finally {
    display.stop();
    interrupts.dispose();
  }
  const final = result.result();
  stderr.write(formatBuildSummary(final, Date.now() - started, ctx.commandPrefix()));
  setExitCode(result.status === BuildRequestStatus.BUILD_REQUEST_COMPLETED ? EXIT_OK : EXIT_FAILURE);
}
