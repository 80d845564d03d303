/**
 * @module A build request's result folded from its events, as the service
 * streams them (WatchEvents): what `formatBuildSummary` prints for a local
 * build, for a build that ran in the service.
 */
import {
  BuildRequestStatus,
  DelegationReason,
  ExitCategory,
  type BuildEvent,
  type JobGraph,
  type Task,
} from "../../gen/databuild_pb.ts";
import { UsageError } from "../../core/errors.ts";
import type { BuildResult, FailedJob } from "../../executor/build-request.ts";

export class RemoteBuildResult {
  private jobGraph: JobGraph | undefined;
  private readonly tasks = new Map<string, Task>();
  private readonly stderrTails = new Map<string, { tail: string[]; exitCode?: number; signal?: string }>();
  private readonly failures: FailedJob[] = [];
  private readonly blocked: { task: Task; reason: string }[] = [];
  private readonly awaited = new Set<string>();
  private jobsSucceeded = 0;
  private partitionsBuilt = 0;
  private skipped = 0;
  private delegatedDone: number | undefined;
  private analyzeError: string | undefined;
  status: BuildRequestStatus = BuildRequestStatus.BUILD_REQUEST_STATUS_UNSPECIFIED;
  private message = "";

  constructor(readonly buildRequestId: string) {}

  apply(event: BuildEvent): void {
    if (event.buildRequestId !== this.buildRequestId) return;
    const p = event.event;
    switch (p.case) {
      case "jobGraph":
        this.jobGraph = p.value.jobGraph;
        break;
      case "jobScheduleSuccess":
        if (p.value.task) this.tasks.set(event.jobRunId, p.value.task);
        break;
      case "partitionManifest":
        this.jobsSucceeded++;
        this.partitionsBuilt += p.value.outputs.length;
        break;
      case "partitionDelegated":
        if (p.value.reason === DelegationReason.IN_PROGRESS) this.awaited.add(p.value.partitionRef?.str ?? "");
        else this.skipped++;
        break;
      case "taskFailed":
        this.stderrTails.set(event.jobRunId, {
          tail: [...p.value.stderrTail],
          exitCode: p.value.exitCode,
          signal: p.value.signal || undefined,
        });
        break;
      case "jobFailure": {
        const task = p.value.task ?? this.tasks.get(event.jobRunId);
        const exit = this.stderrTails.get(event.jobRunId);
        if (task)
          this.failures.push({
            task,
            jobRunId: event.jobRunId,
            outcome: {
              kind: "failure",
              category: p.value.category,
              message: p.value.message,
              exitCode: p.value.category === ExitCategory.EXIT_JOB_FAILURE ? exit?.exitCode : undefined,
              signal: exit?.signal,
              stderrTail: exit?.tail ?? [],
            },
          });
        break;
      }
      case "jobsUnschedulable":
        for (const t of p.value.tasks) if (t.task) this.blocked.push({ task: t.task, reason: t.reason });
        break;
      case "graphAnalyzeFail":
        this.analyzeError = p.value.message;
        break;
      case "graphBuildSuccess":
        this.delegatedDone = p.value.partitionsDelegated;
        break;
      case "buildRequestStatusChanged":
        this.status = p.value.status;
        this.message = p.value.message;
        break;
    }
  }

  result(): BuildResult {
    const status =
      this.status === BuildRequestStatus.BUILD_REQUEST_COMPLETED
        ? "completed"
        : this.status === BuildRequestStatus.BUILD_REQUEST_CANCELLED
          ? "cancelled"
          : "failed";
    return {
      buildRequestId: this.buildRequestId,
      status,
      jobGraph: this.jobGraph,
      tasksToRun: this.jobGraph?.nodes.length ?? 0,
      jobsSucceeded: this.jobsSucceeded,
      jobsFailed: this.failures.length,
      partitionsBuilt: this.partitionsBuilt,
      partitionsSkipped: this.skipped,
      partitionsDelegated: this.delegatedDone ?? this.awaited.size,
      partitionsTakenOver: 0,
      delegateFailures: [],
      failures: this.failures,
      blocked: this.blocked,
      analyzeError: this.analyzeError === undefined ? undefined : new UsageError(this.analyzeError),
      message: this.message,
    };
  }
}
