/**
 * @module The live progress display on a terminal: a status line with counts,
 * elapsed and ETA, then the running jobs, redrawn in place (log-update).
 */
import { createLogUpdate } from "log-update";
import pc from "picocolors";
import type { BuildEvent } from "../../gen/databuild_pb.ts";
import { BuildProgress, formatDuration } from "./build-progress.ts";

const REDRAW_MS = 100;
const RUNNING_SHOWN = 8;

export class TtyDisplay {
  private readonly progress = new BuildProgress();
  private readonly update: ReturnType<typeof createLogUpdate>;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(stream: NodeJS.WriteStream) {
    this.update = createLogUpdate(stream, { showCursor: true });
    this.timer = setInterval(() => this.draw(), REDRAW_MS);
    this.timer.unref();
  }

  readonly observe = (event: BuildEvent): void => {
    const run = event.event.case === "jobFailure" ? this.progress.jobOf(event) : undefined;
    this.progress.apply(event);
    // Show the plan as soon as it exists; later redraws come from the timer.
    if (event.event.case === "jobGraph") this.draw();
    if (event.event.case === "jobFailure") {
      // Keep failures on screen above the live area.
      this.update.clear();
      process.stderr.write(pc.red(`✗ job "${run?.label}" failed: ${event.event.value.message}\n`));
      this.draw();
    }
  };

  private draw(): void {
    const p = this.progress;
    const eta = p.etaMs();
    const done = p.succeeded + p.failed;
    const bar = bar20(p.total === 0 ? 0 : done / p.total);
    const head =
      `${bar} ${done}/${p.total} tasks  ` +
      pc.green(`${p.succeeded} done`) +
      `  ${p.running.size} running  ` +
      (p.failed > 0 ? pc.red(`${p.failed} failed  `) : "") +
      (p.skipped > 0 ? pc.dim(`${p.skipped} already available  `) : "") +
      (p.awaited.size > 0 ? pc.dim(`${p.awaited.size} from other build requests  `) : "") +
      pc.dim(`${formatDuration(p.elapsedMs())}${eta === undefined ? "" : `, ~${formatDuration(eta)} left`}`);
    const now = Date.now();
    const running = [...p.running.values()]
      .slice(0, RUNNING_SHOWN)
      .map((r) => pc.dim(`  ▸ ${r.label} ${r.outputs} (${formatDuration(now - r.startedMs)})`));
    if (p.running.size > RUNNING_SHOWN) running.push(pc.dim(`  … and ${p.running.size - RUNNING_SHOWN} more`));
    this.update([head, ...running].join("\n"));
  }

  /** A message above the live area (a reconnect, a successor). */
  note(message: string): void {
    if (this.stopped) return;
    this.update.clear();
    process.stderr.write(`${message}\n`);
    this.draw();
  }

  /** Clears the live area; the summary is printed after. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.update.clear();
    this.update.done();
  }
}

function bar20(fraction: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * 20);
  return pc.cyan("█".repeat(filled)) + pc.dim("░".repeat(20 - filled));
}
