/**
 * @module Status words and colors. Each status has a word (what the CLI
 * prints) and a tone, a CSS class whose colors (--tone-*) are chosen for
 * contrast in the light and the dark theme alike (styles.css).
 */
import {
  BuildRequestStatus,
  ExitCategory,
  JobRunStatus,
  PartitionState,
  PartitionStatus,
  TriggerOutcome,
} from "../../../gen/databuild_pb.ts";

export type Tone = "ok" | "fail" | "run" | "wait" | "muted" | "warn" | "info";

export const PARTITION_STATUSES: readonly PartitionStatus[] = [
  PartitionStatus.PARTITION_AVAILABLE,
  PartitionStatus.PARTITION_BUILDING,
  PartitionStatus.PARTITION_SCHEDULED,
  PartitionStatus.PARTITION_REQUESTED,
  PartitionStatus.PARTITION_DELEGATED,
  PartitionStatus.PARTITION_FAILED,
  PartitionStatus.PARTITION_INVALIDATED,
];

const partitionWords: Record<PartitionStatus, [string, Tone]> = {
  [PartitionStatus.PARTITION_STATUS_UNSPECIFIED]: ["unknown", "muted"],
  [PartitionStatus.PARTITION_REQUESTED]: ["requested", "wait"],
  [PartitionStatus.PARTITION_SCHEDULED]: ["scheduled", "wait"],
  [PartitionStatus.PARTITION_BUILDING]: ["building", "run"],
  [PartitionStatus.PARTITION_AVAILABLE]: ["available", "ok"],
  [PartitionStatus.PARTITION_FAILED]: ["failed", "fail"],
  [PartitionStatus.PARTITION_DELEGATED]: ["delegated", "info"],
  [PartitionStatus.PARTITION_INVALIDATED]: ["invalidated", "warn"],
};

export function partitionStatusWord(status: PartitionStatus): string {
  return partitionWords[status]?.[0] ?? "unknown";
}

export function partitionStatusTone(status: PartitionStatus): Tone {
  return partitionWords[status]?.[1] ?? "muted";
}

/** The status a URL word ("available") names, if any. */
export function partitionStatusFromWord(word: string): PartitionStatus | undefined {
  for (const status of PARTITION_STATUSES) if (partitionStatusWord(status) === word) return status;
  return undefined;
}

const stateWords: Record<PartitionState, [string, Tone]> = {
  [PartitionState.PARTITION_STATE_UNSPECIFIED]: ["unknown", "muted"],
  [PartitionState.NEVER_REQUESTED]: ["never requested", "muted"],
  [PartitionState.PENDING]: ["pending", "wait"],
  [PartitionState.CLAIMED]: ["claimed", "wait"],
  [PartitionState.BUILDING]: ["building", "run"],
  [PartitionState.AVAILABLE]: ["available", "ok"],
  [PartitionState.STALE]: ["stale", "warn"],
  [PartitionState.FAILED]: ["failed", "fail"],
  [PartitionState.INVALIDATED]: ["invalidated", "warn"],
};

export function partitionStateWord(state: PartitionState): [string, Tone] {
  return stateWords[state] ?? ["unknown", "muted"];
}

const buildWords: Record<BuildRequestStatus, [string, Tone]> = {
  [BuildRequestStatus.BUILD_REQUEST_STATUS_UNSPECIFIED]: ["unknown", "muted"],
  [BuildRequestStatus.BUILD_REQUEST_RECEIVED]: ["received", "wait"],
  [BuildRequestStatus.BUILD_REQUEST_PLANNING]: ["planning", "wait"],
  [BuildRequestStatus.BUILD_REQUEST_EXECUTING]: ["executing", "run"],
  [BuildRequestStatus.BUILD_REQUEST_COMPLETED]: ["completed", "ok"],
  [BuildRequestStatus.BUILD_REQUEST_FAILED]: ["failed", "fail"],
  [BuildRequestStatus.BUILD_REQUEST_CANCELLED]: ["cancelled", "warn"],
  [BuildRequestStatus.BUILD_REQUEST_LOST]: ["lost", "fail"],
};

export function buildStatusWord(status: BuildRequestStatus): [string, Tone] {
  return buildWords[status] ?? ["unknown", "muted"];
}

export function buildIsFinal(status: BuildRequestStatus): boolean {
  return (
    status === BuildRequestStatus.BUILD_REQUEST_COMPLETED ||
    status === BuildRequestStatus.BUILD_REQUEST_FAILED ||
    status === BuildRequestStatus.BUILD_REQUEST_CANCELLED ||
    status === BuildRequestStatus.BUILD_REQUEST_LOST
  );
}

const jobRunWords: Record<JobRunStatus, [string, Tone]> = {
  [JobRunStatus.JOB_RUN_STATUS_UNSPECIFIED]: ["unknown", "muted"],
  [JobRunStatus.JOB_RUN_SCHEDULED]: ["scheduled", "wait"],
  [JobRunStatus.JOB_RUN_RUNNING]: ["running", "run"],
  [JobRunStatus.JOB_RUN_SUCCEEDED]: ["succeeded", "ok"],
  [JobRunStatus.JOB_RUN_FAILED]: ["failed", "fail"],
};

export function jobRunStatusWord(status: JobRunStatus): [string, Tone] {
  return jobRunWords[status] ?? ["unknown", "muted"];
}

const exitWords: Record<ExitCategory, string> = {
  [ExitCategory.EXIT_CATEGORY_UNSPECIFIED]: "",
  [ExitCategory.EXIT_SUCCESS]: "success",
  [ExitCategory.EXIT_JOB_FAILURE]: "job failure (non-zero exit)",
  [ExitCategory.EXIT_SIGNAL]: "killed by a signal",
  [ExitCategory.EXIT_LAUNCH_FAILURE]: "could not be launched",
  [ExitCategory.EXIT_TIMEOUT]: "timed out",
  [ExitCategory.EXIT_CANCELLED]: "cancelled",
  [ExitCategory.EXIT_LOST]: "lost (its owner died)",
  [ExitCategory.EXIT_CONFIG_INVALID]: "config rejected",
};

export function exitCategoryWord(category: ExitCategory): string {
  return exitWords[category] ?? "";
}

const outcomeWords: Record<TriggerOutcome, [string, Tone]> = {
  [TriggerOutcome.TRIGGER_OUTCOME_UNSPECIFIED]: ["", "muted"],
  [TriggerOutcome.TRIGGER_REQUESTED]: ["requested a build", "ok"],
  [TriggerOutcome.TRIGGER_NOTHING_TO_DO]: ["nothing to do", "muted"],
  [TriggerOutcome.TRIGGER_PAUSED_AT_TICK]: ["paused at tick", "warn"],
  [TriggerOutcome.TRIGGER_MISSED]: ["missed", "warn"],
  [TriggerOutcome.TRIGGER_FAILED]: ["failed", "fail"],
};

export function triggerOutcomeWord(outcome: TriggerOutcome): [string, Tone] {
  return outcomeWords[outcome] ?? ["", "muted"];
}
