/**
 * @module SLURM's job states on the job.exec diagram. While a job is
 * PENDING nothing has happened to the run yet; while it RUNs the wrapper's
 * events tell. Once it has ended, its state says how the run ended if the
 * wrapper could not (killed, its node gone) or says more than the wrapper
 * knew (a cancel or time limit from SLURM reaches the job as a plain signal).
 */
import { ExitCategory } from "../../gen/databuild_pb.ts";

/** Our name for a job SLURM no longer knows (`squeue` forgot it) while the run had not ended. */
export const VANISHED = "VANISHED";

export interface SlurmEnd {
  /** The run's category when the wrapper did not say how it ended. */
  readonly category: ExitCategory;
  /** Whether this category replaces the wrapper's own (SLURM knows better why the job got its signal). */
  readonly overridesWrapper: boolean;
  /** "was cancelled in SLURM", for messages: "SLURM job 12 <what>". */
  readonly what: string;
}

const ENDS: Readonly<Record<string, SlurmEnd>> = {
  COMPLETED: { category: ExitCategory.EXIT_LOST, overridesWrapper: false, what: "completed" },
  FAILED: { category: ExitCategory.EXIT_LOST, overridesWrapper: false, what: "failed" },
  CANCELLED: {
    category: ExitCategory.EXIT_CANCELLED,
    overridesWrapper: true,
    what: "was cancelled in SLURM (scancel, or an administrator)",
  },
  TIMEOUT: { category: ExitCategory.EXIT_TIMEOUT, overridesWrapper: true, what: "passed its SLURM time limit" },
  DEADLINE: { category: ExitCategory.EXIT_TIMEOUT, overridesWrapper: true, what: "passed its SLURM deadline" },
  OUT_OF_MEMORY: {
    category: ExitCategory.EXIT_SIGNAL,
    overridesWrapper: true,
    what: "ran out of memory (more than its --mem: the job's resources.memory)",
  },
  NODE_FAIL: { category: ExitCategory.EXIT_LOST, overridesWrapper: true, what: "lost its node (NODE_FAIL)" },
  BOOT_FAIL: { category: ExitCategory.EXIT_LOST, overridesWrapper: true, what: "could not boot its node (BOOT_FAIL)" },
  PREEMPTED: { category: ExitCategory.EXIT_LOST, overridesWrapper: true, what: "was preempted" },
  REVOKED: { category: ExitCategory.EXIT_LOST, overridesWrapper: true, what: "was revoked (federation)" },
  [VANISHED]: { category: ExitCategory.EXIT_LOST, overridesWrapper: false, what: "is no longer known to SLURM" },
};

/** How a job in `state` ended, or undefined while it has not (PENDING, RUNNING, COMPLETING, SUSPENDED, ...). */
export function slurmEnd(state: string): SlurmEnd | undefined {
  return ENDS[state];
}

/** Whether a pending job's reason means it cannot start as submitted (it would wait forever). */
export function pendingForever(reason: string): boolean {
  return /PartitionConfig|PartitionNodeLimit|PartitionTimeLimit|BadConstraints|InvalidAccount|InvalidQOS|ReqNodeNotAvail|PartitionDown|PartitionInactive|AssocMaxJobsLimit|QOSMaxJobsPerUserLimit|Resources.*impossible/i.test(
    reason,
  );
}
