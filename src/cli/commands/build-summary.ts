/**
 * @module The lines printed when a build ends: what happened, the build id,
 * and for failures the job, refs, exit category, last stderr lines and how
 * to see the full log.
 */
import pc from "picocolors";
import { ExitCategory } from "../../gen/databuild_pb.ts";
import type { BuildResult } from "../../executor/build-request.ts";
import { shortId } from "../format/short-id.ts";
import { formatDuration } from "../progress/build-progress.ts";

const BLOCKED_SHOWN = 5;

/**
 * `command` is how the user reaches this build's log again from where they
 * are (e.g. `databuild --graph examples/x/databuild.ts`); the hints use it.
 */
export function formatBuildSummary(
  result: BuildResult,
  elapsedMs: number,
  command = "databuild",
  options: { dryRun?: boolean } = {},
): string {
  const id = result.buildRequestId;
  const lines: string[] = [];
  const delegated =
    (result.partitionsDelegated > 0 ? `, ${result.partitionsDelegated} built by other build requests` : "") +
    (result.partitionsTakenOver > 0
      ? `, took over ${result.partitionsTakenOver} whose build request was lost or released ${result.partitionsTakenOver === 1 ? "it" : "them"}`
      : "");
  const skipped = (result.partitionsSkipped > 0 ? `, ${result.partitionsSkipped} already available` : "") + delegated;
  switch (result.status) {
    case "dry-run":
      lines.push(
        result.tasksToRun === 0
          ? "Dry run: nothing to do, every requested partition is available."
          : `Dry run: ${result.tasksToRun} task${result.tasksToRun === 1 ? "" : "s"} would run${skipped}. Nothing was run or recorded.`,
      );
      return lines.join("\n") + "\n";
    case "completed":
      if (result.tasksToRun === 0 && result.partitionsDelegated > 0) {
        lines.push(
          pc.green(
            `Build completed: every partition was built by another build request (${result.partitionsDelegated} waited for; ${formatDuration(elapsedMs)}).`,
          ),
        );
      } else if (result.tasksToRun === 0) {
        const requested = result.jobGraph?.outputs.length ?? 0;
        lines.push(
          pc.green(
            `Nothing to do: ${requested === 1 ? "the requested partition is" : `all ${requested} requested partitions are`} already available.`,
          ),
        );
      } else {
        lines.push(
          pc.green(
            `Build completed: built ${result.partitionsBuilt} partition${result.partitionsBuilt === 1 ? "" : "s"} in ${result.jobsSucceeded} job${result.jobsSucceeded === 1 ? "" : "s"}${skipped} (${formatDuration(elapsedMs)}).`,
          ),
        );
      }
      break;
    case "cancelled":
      lines.push(
        pc.yellow(
          `Build cancelled after ${formatDuration(elapsedMs)} (${result.message}): ${result.jobsSucceeded} job${result.jobsSucceeded === 1 ? "" : "s"} had finished; other running jobs were stopped.`,
        ),
      );
      break;
    case "failed":
      if (result.analyzeError) {
        lines.push(pc.red(`Build failed while planning: ${result.analyzeError.message}`));
        break;
      }
      lines.push(
        pc.red(
          `Build failed: ${result.message} (${formatDuration(elapsedMs)}; ${result.jobsSucceeded} job${result.jobsSucceeded === 1 ? "" : "s"} succeeded).`,
        ),
      );
      for (const failure of result.failures) {
        const o = failure.outcome;
        // An in-process job that threw has no exit code: its category says what happened.
        const how =
          o.category === ExitCategory.EXIT_JOB_FAILURE && o.exitCode !== undefined
            ? `exit code ${o.exitCode}`
            : ExitCategory[o.category];
        lines.push(
          `  job "${failure.task.job!.label}" for ${failure.task.config!.outputs.map((x) => x.str).join(", ")}: ${o.message} [${how}]`,
        );
        if (o.stderrTail.length > 0) {
          lines.push(pc.dim("    last lines of stderr:"));
          for (const line of o.stderrTail) lines.push(pc.dim(`    | ${line}`));
        }
        lines.push(pc.dim(`    full log: ${command} logs ${shortId(failure.jobRunId)}`));
      }
      for (const f of result.delegateFailures) {
        lines.push(
          `  ${f.ref} failed in build request ${shortId(f.delegateBuildRequestId)}, which was building it${f.message ? `: ${f.message}` : ""}`,
        );
        lines.push(pc.dim(`    see: ${command} explain ${f.ref}`));
      }
      if (result.blocked.length > 0) {
        lines.push(`  ${result.blocked.length} task${result.blocked.length === 1 ? "" : "s"} not run:`);
        for (const b of result.blocked.slice(0, BLOCKED_SHOWN)) {
          lines.push(`    ${b.task.job!.label} ${b.task.config!.outputs.map((x) => x.str).join(", ")}: ${b.reason}`);
        }
        if (result.blocked.length > BLOCKED_SHOWN)
          lines.push(`    ... and ${result.blocked.length - BLOCKED_SHOWN} more`);
      }
      break;
  }
  // A dry run records nothing: there is no build request id to look up.
  if (!options.dryRun) lines.push(pc.dim(`build request id: ${id}   (${command} events --build ${shortId(id)})`));
  return lines.join("\n") + "\n";
}
