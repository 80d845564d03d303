/**
 * @module One build request's events as they arrive (WatchEvents with its
 * id, from the start; the stream ends when the build does): the job graph
 * it planned, each job run's state, its delegations and its remaining jobs.
 * A dropped stream is resumed from the last offset seen.
 */
import { useEffect, useState } from "react";
import type { JobGraph, PartitionDelegated, RemainingJobs } from "../../../gen/databuild_pb.ts";
import { breathe, client } from "./api.ts";
import type { Tone } from "./status.ts";

export interface RunState {
  readonly jobRunId: string;
  readonly tone: Tone;
  readonly word: string;
}

export interface BuildEvents {
  readonly jobGraph: JobGraph | undefined;
  /** By output ref: the latest job run producing it. */
  readonly runByOutput: ReadonlyMap<string, RunState>;
  readonly delegations: readonly PartitionDelegated[];
  readonly remaining: RemainingJobs | undefined;
  readonly events: number;
  readonly ended: boolean;
  /** Bumped on events that change the build or its job runs (the page refetches those). */
  readonly version: number;
}

const EMPTY: BuildEvents = {
  jobGraph: undefined,
  runByOutput: new Map(),
  delegations: [],
  remaining: undefined,
  events: 0,
  ended: false,
  version: 0,
};

const FLUSH_MS = 150;
const RETRY_MS = 1_000;

export function useBuildEvents(buildRequestId: string): BuildEvents {
  const [state, setState] = useState<BuildEvents>(EMPTY);
  useEffect(() => {
    const abort = new AbortController();
    const runByOutput = new Map<string, RunState>();
    const outputsOfRun = new Map<string, string[]>();
    const delegations: PartitionDelegated[] = [];
    let jobGraph: JobGraph | undefined;
    let remaining: RemainingJobs | undefined;
    let events = 0;
    let version = 0;
    let ended = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      setState({
        jobGraph,
        runByOutput: new Map(runByOutput),
        delegations: [...delegations],
        remaining,
        events,
        ended,
        version,
      });
    };
    const schedule = () => (timer ??= setTimeout(flush, FLUSH_MS));
    const mark = (jobRunId: string, tone: Tone, word: string) => {
      for (const ref of outputsOfRun.get(jobRunId) ?? []) runByOutput.set(ref, { jobRunId, tone, word });
      version++;
    };
    void (async () => {
      let after = 0n;
      while (!abort.signal.aborted) {
        try {
          for await (const logged of client.watchEvents(
            { afterOffset: after, buildRequestId },
            { signal: abort.signal },
          )) {
            after = logged.offset;
            events++;
            await breathe(events);
            const event = logged.event;
            const p = event?.event;
            if (!event || !p) continue;
            const run = event.jobRunId;
            switch (p.case) {
              case "jobGraph":
                jobGraph = p.value.jobGraph;
                break;
              case "jobScheduleSuccess": {
                const outputs = p.value.task?.config?.outputs.map((o) => o.str) ?? [];
                outputsOfRun.set(run, outputs);
                mark(run, "wait", "scheduled");
                break;
              }
              case "jobRunOffered":
                mark(run, "wait", "offered to workers");
                break;
              case "taskLaunchSuccess":
                mark(run, "run", "running");
                break;
              case "taskSuccess":
                mark(run, "ok", "succeeded");
                break;
              case "taskFailed":
              case "taskLaunchFail":
              case "jobFailure":
              case "jobExecFail":
              case "configValidateFail":
                mark(run, "fail", "failed");
                break;
              case "partitionDelegated":
                delegations.push(p.value);
                break;
              case "remainingJobs":
                remaining = p.value;
                break;
              case "buildRequestStatusChanged":
              case "graphBuildSuccess":
              case "graphBuildFail":
                version++;
                break;
              default:
                break;
            }
            schedule();
          }
          ended = true;
          version++;
          flush();
          return;
        } catch {
          if (abort.signal.aborted) return;
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
    })();
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [buildRequestId]);
  return state;
}
