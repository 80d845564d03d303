/**
 * @module Human output of `databuild explain`: a first line with the state
 * and the one fact that matters most, the details behind it, what a build
 * would run now, and a last line saying what to do.
 */
import { timestampDate, timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { DepType, ExitCategory, PartitionState, type PartitionExplanation } from "../../gen/databuild_pb.ts";
import { DEFAULT_HEARTBEAT_TIMEOUT_MS } from "../../core/projections/claims.ts";
import type { Explained } from "../../coordination/index.ts";
import { formatDuration } from "../progress/build-progress.ts";
import { shortId } from "./short-id.ts";

/** "just now", "12 s ago", "3 min ago", "5 h ago", "2 days ago". */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return "just now";
  if (s < 120) return `${s} s ago`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min ago`;
  const h = Math.round(min / 60);
  return h < 48 ? `${h} h ago` : `${Math.round(h / 24)} days ago`;
}

/** The one sentence after "REF: STATE — " (also PartitionExplanation.summary). */
export function explanationSummary(x: Explained, nowMs: number): string {
  const e = x.explanation;
  const status = e.status;
  const ago = (t: Timestamp | undefined) => (t ? formatAgo(nowMs - timestampMs(t)) : "at an unknown time");
  switch (e.state) {
    case PartitionState.NEVER_REQUESTED:
      return "no build request has asked for it (no event in the log mentions it)";
    case PartitionState.AVAILABLE:
    case PartitionState.STALE: {
      const m = status?.manifest;
      const built =
        `built ${ago(m?.endTime ?? status?.updatedAt)} by job ${m?.task?.job?.label} ${m?.jobVersion || "0.0.0"} ` +
        `(build request ${shortId(m?.buildRequestId ?? "")}, job run ${shortId(m?.jobRunId ?? "")})`;
      if (e.state === PartitionState.AVAILABLE) return built;
      const more = e.staleReasons.length > 1 ? ` (and ${e.staleReasons.length - 1} more reasons)` : "";
      return `${built}, but stale: ${e.staleReasons[0]!.message}${more}`;
    }
    case PartitionState.CLAIMED:
    case PartitionState.BUILDING: {
      const by = `build request ${shortId(e.claimedBy?.buildRequestId ?? "")}${e.claimedBy?.requester ? ` (${e.claimedBy.requester})` : ""}`;
      if (e.state === PartitionState.CLAIMED) {
        const offer = x.offer;
        if (offer?.takenBy)
          return `claimed by ${by} ${ago(x.claimedAt)}; job run ${shortId(offer.jobRunId)} was taken by worker ${shortId(offer.takenBy.workerId)} on ${offer.takenBy.hostname} ${ago(offer.takenBy.at)}, and its job has not started yet`;
        if (offer)
          return `claimed by ${by} ${ago(x.claimedAt)}; job run ${shortId(offer.jobRunId)} was offered to the worker pool ${ago(offer.offeredAt)}, and no worker has taken it yet`;
        return `claimed by ${by} ${ago(x.claimedAt)}; its job has not started yet`;
      }
      const run = e.jobRun;
      return `being built by ${by}: job run ${shortId(run?.jobRunId ?? "")} of job ${run?.task?.job?.label}, started ${ago(run?.startedAt)}`;
    }
    case PartitionState.FAILED: {
      const run = e.jobRun;
      if (!run)
        return `${status?.message || "failed"} (build request ${shortId(status?.buildRequestId ?? "")}, ${ago(status?.updatedAt)})`;
      return (
        `job run ${shortId(run.jobRunId)} of job ${run.task?.job?.label} failed ${ago(run.endedAt ?? status?.updatedAt)} ` +
        `(${exitDescription(e)}) in build request ${shortId(run.buildRequestId)}: ${run.message}`
      );
    }
    case PartitionState.INVALIDATED:
      return `${status?.message || "invalidated"} (${ago(status?.updatedAt)}, invalidation ${shortId(status?.buildRequestId ?? "")})`;
    case PartitionState.PENDING: {
      const who = e.status?.buildRequestId ?? "";
      return `requested by build request ${shortId(who)} ${ago(status?.updatedAt)}; no build request has claimed it${x.requesterEnded ? ` (that build request ${x.requesterEnded} without building it)` : ""}`;
    }
    default:
      return "unknown state";
  }
}

/** How much of a long answer to print. */
export interface AnswerDetail {
  /** Every input of the manifest and every task of a plan, not the first INPUTS_SHOWN / TASKS_SHOWN. */
  readonly all?: boolean;
}

/** Inputs listed before a fan-in is summarized. */
export const INPUTS_SHOWN = 10;
/** Tasks of a would-run plan listed before the rest are summarized. */
export const TASKS_SHOWN = 20;

/** The whole human answer for one partition. `command` starts the hint commands ("databuild --graph x.yaml"). */
export function formatExplanation(x: Explained, nowMs: number, command: string, detail: AnswerDetail = {}): string {
  const e = x.explanation;
  const ref = e.partitionRef!.str;
  const lines = [`${ref}: ${PartitionState[e.state]} — ${e.summary || explanationSummary(x, nowMs)}`];
  lines.push(...stateLines(x, nowMs, command, detail));
  lines.push(...wouldRunLines(e, detail));
  lines.push(whatToDo(x, command));
  return lines.join("\n") + "\n";
}

/**
 * `databuild status`: the same answer as explain's without the plan: the
 * state and its summary, then the facts behind it.
 */
export function formatStatusAnswer(x: Explained, nowMs: number, command: string, detail: AnswerDetail = {}): string {
  const e = x.explanation;
  const ref = e.partitionRef!.str;
  const lines = [`${ref}  ${PartitionState[e.state]}`, `  ${e.summary || explanationSummary(x, nowMs)}`];
  if (e.state === PartitionState.NEVER_REQUESTED) return lines.join("\n") + "\n";
  lines.push(...stateLines(x, nowMs, command, detail));
  if (e.state !== PartitionState.AVAILABLE) lines.push(`  why, and what a build would run: ${command} explain ${ref}`);
  return lines.join("\n") + "\n";
}

function stateLines(x: Explained, nowMs: number, command: string, detail: AnswerDetail): string[] {
  const e = x.explanation;
  const lines: string[] = [];
  if (e.state === PartitionState.STALE && e.staleReasons.length > 1) {
    lines.push("  stale because:");
    for (const r of e.staleReasons) lines.push(`    - ${r.message}`);
  }
  if (e.state === PartitionState.CLAIMED || e.state === PartitionState.BUILDING) lines.push(...leaseLines(x, nowMs));
  if (e.delegatedBy.length > 0) lines.push(`  build requests waiting on it: ${e.delegatedBy.map(shortId).join(", ")}`);
  if (e.state === PartitionState.FAILED && e.jobRun) {
    if (e.stderrTail.length > 0) {
      lines.push("  last lines of stderr:");
      for (const line of e.stderrTail) lines.push(`    | ${line}`);
    }
    lines.push(`  full log: ${command} logs ${shortId(e.jobRun.jobRunId)}`);
  }
  lines.push(...manifestLines(e, nowMs, detail));
  return lines;
}

function exitDescription(e: PartitionExplanation): string {
  const run = e.jobRun!;
  const category = ExitCategory[run.exitCategory] ?? "unknown exit";
  // 0 with EXIT_JOB_FAILURE: an in-process job that threw, which has no exit code.
  if (run.exitCategory === ExitCategory.EXIT_JOB_FAILURE && run.exitCode !== 0)
    return `${category}, exit code ${run.exitCode}`;
  if (run.signal) return `${category}, ${run.signal}`;
  return category;
}

function leaseLines(x: Explained, nowMs: number): string[] {
  const e = x.explanation;
  const lines: string[] = [];
  const timeoutMs = e.claimedBy?.options?.heartbeatTimeoutMs || DEFAULT_HEARTBEAT_TIMEOUT_MS;
  const silentMs = e.claimedByLastHeartbeat ? nowMs - timestampMs(e.claimedByLastHeartbeat) : undefined;
  if (silentMs !== undefined)
    lines.push(
      `  last heartbeat ${formatAgo(silentMs)}; lease timeout ${timeoutMs / 1000} s (after that, another build may take the work over)`,
    );
  if (silentMs !== undefined && silentMs > timeoutMs)
    lines.push(
      `  its holder has sent no heartbeat for ${Math.round(silentMs / 1000)} s; the next build will take it over`,
    );
  else if (x.holderGone) lines.push(`  its holder is gone (${x.holderGone}); the next build will take it over`);
  return lines;
}

/** The last successful build behind the state, with the inputs it was built from. */
function manifestLines(e: PartitionExplanation, nowMs: number, detail: AnswerDetail): string[] {
  const m = e.status?.manifest;
  if (!m) return [];
  const lines: string[] = [];
  const current = e.state === PartitionState.AVAILABLE || e.state === PartitionState.STALE;
  const finished = m.endTime ? timestampDate(m.endTime) : undefined;
  const took =
    m.startTime && m.endTime ? `, took ${formatDuration(timestampMs(m.endTime) - timestampMs(m.startTime))}` : "";
  const when = finished ? `finished ${finished.toISOString()}${took}` : "finish time unknown";
  if (current) lines.push(`  ${when}`);
  else
    lines.push(
      `  last built ${finished ? formatAgo(nowMs - finished.getTime()) : ""} by job ${m.task?.job?.label} ${m.jobVersion || "0.0.0"} ` +
        `(build request ${shortId(m.buildRequestId)}, job run ${shortId(m.jobRunId)}), ${when}`,
    );
  if (m.inputs.length === 0) lines.push("  inputs: none");
  else lines.push(m.inputs.length > INPUTS_SHOWN ? `  inputs (${m.inputs.length}):` : "  inputs:");
  // A fan-in of thousands is summarized unless asked for.
  const shown = detail.all || m.inputs.length <= INPUTS_SHOWN + 1 ? m.inputs : m.inputs.slice(0, INPUTS_SHOWN);
  for (const input of shown) {
    const kind = input.depType === DepType.QUERY ? " (query)" : "";
    const from = input.jobRunId ? `built by job run ${shortId(input.jobRunId)}` : "absent or not built by databuild";
    lines.push(`    ${input.partitionRef?.str}${kind}  ${from}`);
  }
  if (shown.length < m.inputs.length) {
    const rest = m.inputs.slice(shown.length);
    const built = rest.filter((i) => i.jobRunId).length;
    lines.push(
      `    … and ${rest.length} more (${built} built by databuild, ${rest.length - built} absent or external; --all lists them)`,
    );
  }
  return lines;
}

function wouldRunLines(e: PartitionExplanation, detail: AnswerDetail): string[] {
  if (e.wouldRunError) {
    const [first, ...rest] = e.wouldRunError.split("\n");
    return [`  a build of it now could not be planned: ${first}`, ...rest.map((l) => `    ${l}`)];
  }
  if (e.wouldRun.length > 0) {
    const n = e.wouldRun.length;
    const shown = detail.all || n <= TASKS_SHOWN + 1 ? e.wouldRun : e.wouldRun.slice(0, TASKS_SHOWN);
    const lines = [
      `  a build of it now would run ${n} task${n === 1 ? "" : "s"}:`,
      ...shown.map((t) => `    ${t.job?.label}  ${t.config?.outputs.map((o) => o.str).join(", ")}`),
    ];
    if (shown.length < n) {
      const byJob = new Map<string, number>();
      for (const t of e.wouldRun.slice(shown.length)) {
        const label = t.job?.label ?? "";
        byJob.set(label, (byJob.get(label) ?? 0) + 1);
      }
      const jobs = [...byJob].map(([label, count]) => `${count} ${label}`).join(", ");
      lines.push(`    … and ${n - shown.length} more (${jobs}; --all lists them)`);
    }
    return lines;
  }
  if (e.state === PartitionState.CLAIMED || e.state === PartitionState.BUILDING)
    return [
      `  a build of it now would run nothing itself: it would wait for build request ${shortId(e.claimedBy?.buildRequestId ?? "")}`,
    ];
  return [`  a build of it now would run nothing${e.state === PartitionState.AVAILABLE ? ": it is available" : ""}`];
}

function whatToDo(x: Explained, command: string): string {
  const e = x.explanation;
  const ref = e.partitionRef!.str;
  const blocked = e.wouldRunError && e.wouldRun.length === 0;
  if (blocked && e.state !== PartitionState.AVAILABLE && !e.claimedBy)
    return `a build of it would fail to plan (above); once that is fixed: ${command} build ${ref}`;
  switch (e.state) {
    case PartitionState.AVAILABLE:
      return `nothing to do. To rebuild it anyway: ${command} build --force ${ref}; to mark it invalid: ${command} invalidate ${ref}`;
    case PartitionState.STALE:
    case PartitionState.INVALIDATED:
      return `to rebuild: ${command} build ${ref}`;
    case PartitionState.FAILED:
      return `to retry: ${command} build ${ref}`;
    case PartitionState.CLAIMED:
    case PartitionState.BUILDING:
      return x.holderGone
        ? `to take it over now: ${command} build ${ref}`
        : `to follow it: ${command} events --follow --build ${shortId(e.claimedBy?.buildRequestId ?? "")}`;
    default:
      return `to build it: ${command} build ${ref}`;
  }
}
