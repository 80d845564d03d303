/**
 * @module Exactly-once coordination across build requests, through the log
 * alone: the shared view (catalog, claim book, build requests), planning
 * under claims, liveness (whom to declare lost) and declaring it,
 * invalidation, and explaining a partition's state; and the read models
 * every command loads. The one entry of src/coordination/: everything
 * outside the folder imports from here.
 */
export { SHARED_VIEW_FILTER, SHARED_VIEW_KINDS, SharedView, SharedViewModel } from "./shared-view.ts";
export { currentJob, planAndClaim } from "./claim-plan.ts";
export type { ClaimedPlan, ClaimPlanContext, ClaimPlanOptions } from "./claim-plan.ts";
export { decideClaims, lostBuildEvents } from "./claim-decisions.ts";
export type { ClaimOutcome, ClaimRequest } from "./claim-decisions.ts";
export { decideLost, goneBuildRequests, processState, whyLost } from "./liveness.ts";
export type { HostProcessState, LostDecision } from "./liveness.ts";
export { markRunningHere, runsHere } from "./running-here.ts";
export { declareLost, reapLostBuilds } from "./declare-lost.ts";
export { declaredLost, fenceFilter } from "./fence.ts";
export type { DeclaredLost } from "./fence.ts";
export type { HostProcesses, ProcessFacts } from "./host-processes.ts";
export { PROC_HOST, ProcHostProcesses } from "./proc-host-processes.ts";
export { decideInvalidation } from "./invalidation.ts";
export type { InvalidationDecision, InvalidationRequest } from "./invalidation.ts";
export { explainPartitions, explainStates, LogFacts } from "./explain-partition.ts";
export type { Explained, GraphOrError, OfferFacts } from "./explain-partition.ts";
export { explainedOf, explanationMessage } from "./explained-message.ts";
export { loadReadModel, loadReadModels, SNAPSHOT_AFTER_EVENTS } from "./read-model-loader.ts";
export type { LoadedReadModel, LoadOptions } from "./read-model-loader.ts";
export { ALL_READ_MODELS, READ_MODELS, loadForBuild, reindex } from "./read-models.ts";
export type { ReindexedModel } from "./read-models.ts";
export { readJobRun } from "./job-run-reads.ts";
export {
  decideTake,
  decideWorkerLost,
  describeRequirements,
  lostRunMessage,
  whyWorkerLost,
  workerLostEvents,
  workersAbleToRun,
} from "./worker-decisions.ts";
export type { WorkerLostDecision } from "./worker-decisions.ts";
