/**
 * /builds/ID: one build request, live: its job graph colored as events
 * arrive (WatchEvents), a timeline of its job runs, what it delegated to
 * whom and what it still waits on, and cancel.
 */
import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo } from "react";
import { Link, useParams } from "react-router";
import { DelegationReason, type PartitionDelegated } from "../../../gen/databuild_pb.ts";
import { client } from "../lib/api.ts";
import { useBuildEvents } from "../lib/build-events.ts";
import { formatDuration, ms, plural } from "../lib/format.ts";
import { buildIsFinal, buildStatusWord } from "../lib/status.ts";
import { Badge, BuildLink, ErrorBox, Facts, JobRunLink, Loading, PartitionLink, Time } from "../components/common.tsx";
import { Gantt } from "../components/Gantt.tsx";
import { JobGraphView } from "../components/JobGraphView.tsx";

export function BuildPage() {
  const id = useParams().id ?? "";
  const queries = useQueryClient();
  const events = useBuildEvents(id);
  const build = useQuery({
    queryKey: ["build", id],
    queryFn: ({ signal }) => client.getBuildRequest({ buildRequestId: id }, { signal }),
    refetchInterval: (q) => (q.state.data && buildIsFinal(q.state.data.status) ? false : 3_000),
  });
  const runs = useQuery({
    queryKey: ["job-runs", id],
    queryFn: ({ signal }) => client.listJobRuns({ buildRequestId: id }, { signal }),
    refetchInterval: (q) =>
      build.data && buildIsFinal(build.data.status) && q.state.dataUpdatedAt > 0 ? false : 3_000,
  });
  // Events that change the build or its job runs refetch them at once.
  useEffect(() => {
    if (events.version === 0) return;
    void queries.invalidateQueries({ queryKey: ["build", id] });
    void queries.invalidateQueries({ queryKey: ["job-runs", id] });
  }, [events.version, id, queries]);
  const cancel = useMutation({
    mutationFn: () => client.cancelBuildRequest({ buildRequestId: id }),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ["build", id] }),
  });
  const tasks = useMemo(
    () => events.jobGraph?.nodes ?? runs.data?.jobRuns.map((r) => r.task!).filter(Boolean) ?? [],
    [events.jobGraph, runs.data],
  );
  const delegated = useMemo(
    () => new Set(events.delegations.map((d) => d.partitionRef?.str ?? "")),
    [events.delegations],
  );

  if (build.error) return <ErrorBox error={build.error} />;
  if (!build.data) return <Loading what="the build request" />;
  const b = build.data;
  const [word, tone] = buildStatusWord(b.status);
  const final = buildIsFinal(b.status);
  const received = ms(b.receivedAt);
  const now = Date.now();
  return (
    <section>
      <p className="crumbs">
        <Link to="/builds">Build requests</Link> ›
      </p>
      <h1>
        Build <span className="id">{b.buildRequestId}</span> <Badge tone={tone}>{word}</Badge>
      </h1>
      {b.message && <p className="summary">{b.message}</p>}
      <div className="panel">
        <Facts
          rows={[
            [
              "Requested",
              <span key="r" className="inline-list">
                {b.requestedPartitions.map((r) => (
                  <PartitionLink key={r.str} partitionRef={r.str} />
                ))}
              </span>,
            ],
            ["By", b.requester],
            ["Origin", b.origin],
            ["Trigger", b.trigger && <Link to="/triggers">{b.trigger}</Link>],
            ["Want key", b.wantKey],
            ["Continues", b.continuesBuildRequestId && <BuildLink id={b.continuesBuildRequestId} />],
            ["Continued by", b.continuedBy && <BuildLink id={b.continuedBy} />],
            ["Received", <Time key="t" value={received} />],
            ["Took", received !== undefined && formatDuration((final ? (ms(b.updatedAt) ?? now) : now) - received)],
            [
              "Jobs",
              `${b.jobsSucceeded} succeeded, ${b.jobsFailed} failed, ${b.partitionsDelegated} partitions delegated`,
            ],
            [
              "Now",
              !final &&
                events.remaining &&
                `${events.remaining.running} running, ${events.remaining.ready} ready, ${events.remaining.waiting} waiting`,
            ],
          ]}
        />
        {!final && (
          <p>
            <button
              type="button"
              className="danger"
              disabled={cancel.isPending}
              onClick={() => window.confirm(`Cancel build ${b.buildRequestId}?`) && cancel.mutate()}
            >
              Cancel build
            </button>{" "}
            <span className="muted">(needs a token with the build scope)</span>
          </p>
        )}
        {cancel.error && <ErrorBox error={cancel.error} />}
        {cancel.isSuccess && <p role="status">Cancel requested.</p>}
        <p className="muted live" aria-live="polite">
          {events.ended ? "The build has ended." : `Live: ${plural(events.events, "event")} so far.`}
        </p>
      </div>
      <div className="panel">
        <h2>Job graph</h2>
        <JobGraphView tasks={tasks} runByOutput={events.runByOutput} delegated={delegated} />
      </div>
      <div className="panel">
        <h2>Timeline</h2>
        {runs.error ? <ErrorBox error={runs.error} /> : <Gantt runs={runs.data?.jobRuns ?? []} now={now} />}
      </div>
      <Delegations delegations={events.delegations} />
    </section>
  );
}

function Delegations({ delegations }: { delegations: readonly PartitionDelegated[] }) {
  const delegates = [...new Set(delegations.map((d) => d.delegateBuildRequestId).filter(Boolean))].slice(0, 50);
  const statuses = useQueries({
    queries: delegates.map((id) => ({
      queryKey: ["build", id],
      queryFn: () => client.getBuildRequest({ buildRequestId: id }),
      refetchInterval: 3_000,
    })),
  });
  const liveDelegate = new Map(delegates.map((id, i) => [id, statuses[i]?.data]));
  const waitsOn = delegations.filter((d) => {
    const delegate = liveDelegate.get(d.delegateBuildRequestId);
    return d.reason === DelegationReason.IN_PROGRESS && (!delegate || !buildIsFinal(delegate.status));
  });
  return (
    <div className="panel">
      <h2>Delegations</h2>
      {delegations.length === 0 ? (
        <p className="muted">It built everything it needed itself.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Partition</th>
              <th>Why</th>
              <th>To build</th>
              <th>Job run</th>
              <th>Its status</th>
            </tr>
          </thead>
          <tbody>
            {delegations.map((d, i) => {
              const delegate = liveDelegate.get(d.delegateBuildRequestId);
              const [word, tone] = delegate ? buildStatusWord(delegate.status) : ["", "muted" as const];
              return (
                <tr key={i}>
                  <td>
                    <PartitionLink partitionRef={d.partitionRef?.str ?? ""} />
                  </td>
                  <td>{d.reason === DelegationReason.ALREADY_AVAILABLE ? "already available" : "being built"}</td>
                  <td>
                    <BuildLink id={d.delegateBuildRequestId} />
                  </td>
                  <td>
                    <JobRunLink id={d.delegateJobRunId} />
                  </td>
                  <td>{word && <Badge tone={tone}>{word}</Badge>}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <h3>Waits on</h3>
      {waitsOn.length === 0 ? (
        <p className="muted">No other build.</p>
      ) : (
        <ul className="lineage">
          {waitsOn.map((d, i) => (
            <li key={i}>
              <PartitionLink partitionRef={d.partitionRef?.str ?? ""} /> from build{" "}
              <BuildLink id={d.delegateBuildRequestId} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
