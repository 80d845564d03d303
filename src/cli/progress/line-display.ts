/**
 * @module Progress as plain lines, for logs and pipes: one line per job that
 * ends, and a summary line every few seconds on long builds. It sees events
 * only once they are durable in the log (EventRecorder), so an `ok` line is
 * never printed for a result the log does not hold.
 */
import { DelegationReason, type BuildEvent } from "../../gen/databuild_pb.ts";
import { shortId } from "../format/short-id.ts";
import { BuildProgress, eventTimeMs, formatDuration } from "./build-progress.ts";

const SUMMARY_EVERY_MS = 10_000;

export class LineDisplay {
  private readonly progress = new BuildProgress();
  private lastSummary = Date.now();

  constructor(private readonly write: (line: string) => void) {}

  readonly observe = (event: BuildEvent): void => {
    const p = event.event;
    const run = this.progress.jobOf(event);
    this.progress.apply(event);
    if (p.case === "partitionManifest" && run) {
      this.write(`ok     ${run.label}  ${run.outputs}  (${formatDuration(eventTimeMs(event) - run.startedMs)})`);
    } else if (p.case === "partitionDelegated" && p.value.reason === DelegationReason.IN_PROGRESS) {
      this.write(
        `wait   ${p.value.partitionRef?.str}  (being built by build request ${shortId(p.value.delegateBuildRequestId)})`,
      );
    } else if (p.case === "jobFailure") {
      this.write(`FAILED ${run?.label}  ${run?.outputs}: ${p.value.message}`);
    }
    if (Date.now() - this.lastSummary >= SUMMARY_EVERY_MS) {
      this.lastSummary = Date.now();
      const s = this.progress;
      this.write(
        `... ${s.succeeded + s.failed}/${s.total} tasks, ${s.running.size} running, ${formatDuration(s.elapsedMs())} elapsed`,
      );
    }
  };

  /** A message between the progress lines (a reconnect, a successor). */
  note(message: string): void {
    this.write(message);
  }

  stop(): void {}
}
