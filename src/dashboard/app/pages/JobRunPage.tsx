/**
 * /job-runs/ID: one job run: its state and exit category, its log lines
 * (live tail while it runs, stderr highlighted) and its events.
 */
import { useQuery } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { JobRunStatus, type BuildEvent } from "../../../gen/databuild_pb.ts";
import { client } from "../lib/api.ts";
import { formatDuration, ms, plural } from "../lib/format.ts";
import { useJobRunEvents, useJobRunLogs, type LogLine } from "../lib/job-run-stream.ts";
import { exitCategoryWord, jobRunStatusWord, partitionStatusWord } from "../lib/status.ts";
import { Badge, BuildLink, ErrorBox, Facts, Loading, PartitionLink, Time } from "../components/common.tsx";

const LINE_HEIGHT = 20;

export function JobRunPage() {
  const id = useParams().id ?? "";
  const logs = useJobRunLogs(id);
  const fetched = useQuery({
    queryKey: ["job-run", id],
    queryFn: ({ signal }) => client.getJobRun({ jobRunId: id }, { signal }),
    refetchInterval: (q) => (q.state.data && q.state.data.status >= JobRunStatus.JOB_RUN_SUCCEEDED ? false : 2_000),
  });
  // The log stream's copy is the newest while it runs; the fetched one after.
  const run = logs.ended ? (fetched.data ?? logs.run) : (logs.run ?? fetched.data);
  const finished = run !== undefined && run.status >= JobRunStatus.JOB_RUN_SUCCEEDED;
  const events = useJobRunEvents(id, !finished);
  if (fetched.error && !run) return <ErrorBox error={fetched.error} />;
  if (!run) return <Loading what="the job run" />;
  const [word, tone] = jobRunStatusWord(run.status);
  const started = ms(run.startedAt);
  const ended = ms(run.endedAt);
  return (
    <section>
      <p className="crumbs">
        <Link to="/builds">Build requests</Link> › <BuildLink id={run.buildRequestId} /> ›
      </p>
      <h1>
        {run.task?.job?.label} <span className="id">{run.jobRunId}</span> <Badge tone={tone}>{word}</Badge>
      </h1>
      <div className="panel">
        <Facts
          rows={[
            [
              "Outputs",
              <span key="o" className="inline-list">
                {run.task?.config?.outputs.map((o) => (
                  <PartitionLink key={o.str} partitionRef={o.str} />
                ))}
              </span>,
            ],
            [
              "Inputs",
              (run.task?.config?.inputs.length ?? 0) > 0 && (
                <span className="inline-list">
                  {run.task?.config?.inputs.map((i) => (
                    <PartitionLink key={i.partitionRef?.str} partitionRef={i.partitionRef?.str ?? ""} />
                  ))}
                </span>
              ),
            ],
            ["Build request", <BuildLink key="b" id={run.buildRequestId} />],
            ["Exit", run.exitCategory ? exitCategoryWord(run.exitCategory) : undefined],
            ["Exit code", run.exitCategory && run.exitCode !== 0 ? String(run.exitCode) : undefined],
            ["Signal", run.signal],
            ["Message", run.message],
            ["Attempt", run.attempt > 1 ? String(run.attempt) : undefined],
            ["Host", run.hostname && `${run.hostname}${run.pid ? ` pid ${run.pid}` : ""}`],
            ["Scheduled", <Time key="s" value={ms(run.scheduledAt)} />],
            ["Started", started !== undefined && <Time value={started} />],
            ["Ended", ended !== undefined && <Time value={ended} />],
            ["Took", started !== undefined && formatDuration((ended ?? Date.now()) - started)],
            [
              "Log limit",
              run.logTruncation &&
                `reached ${run.logTruncation.limitBytes} bytes: ${run.logTruncation.linesDropped} lines dropped`,
            ],
          ]}
        />
      </div>
      <div className="panel">
        <h2>
          Log <span className="muted">{plural(logs.lines.length, "line")}</span>
          {!logs.ended && <span className="live-dot"> live</span>}
        </h2>
        <LogView lines={logs.lines} live={!logs.ended} />
        {logs.truncated && <p className="muted">The job printed more than its log limit: the rest was dropped.</p>}
      </div>
      <div className="panel">
        <h2>Events</h2>
        <EventTable events={events} />
      </div>
    </section>
  );
}

function LogView({ lines, live }: { lines: readonly LogLine[]; live: boolean }) {
  const scroller = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  const [stderrOnly, setStderrOnly] = useState(false);
  const shown = stderrOnly ? lines.filter((l) => l.stderr) : lines;
  const virtualizer = useVirtualizer({
    count: shown.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => LINE_HEIGHT,
    overscan: 20,
  });
  useEffect(() => {
    if (follow && shown.length > 0) virtualizer.scrollToIndex(shown.length - 1, { align: "end" });
  }, [follow, shown.length, virtualizer]);
  if (lines.length === 0) return <p className="muted">{live ? "No output yet…" : "It printed nothing."}</p>;
  return (
    <>
      <p className="log-tools">
        <label>
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> follow the end
        </label>{" "}
        <label>
          <input type="checkbox" checked={stderrOnly} onChange={(e) => setStderrOnly(e.target.checked)} /> stderr only
        </label>
      </p>
      <div
        ref={scroller}
        className="log virtual-scroll"
        tabIndex={0}
        aria-label="Log lines"
        style={{ height: Math.min(480, shown.length * LINE_HEIGHT + 4) }}
        onWheel={() => setFollow(false)}
      >
        <ol className="virtual-inner" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((item) => {
            const line = shown[item.index]!;
            return (
              <li
                key={item.index}
                className={line.stderr ? "line stderr-line" : "line"}
                style={{ transform: `translateY(${item.start}px)`, height: LINE_HEIGHT }}
              >
                <span className="seq" aria-hidden="true">
                  {line.sequence}
                </span>
                <span className="stream">{line.stderr ? "err" : "out"}</span>
                <span className="text">
                  {line.text}
                  {line.continued ? " ↩" : ""}
                </span>
              </li>
            );
          })}
        </ol>
      </div>
    </>
  );
}

function describe(event: BuildEvent): string {
  const p = event.event;
  switch (p.case) {
    case "jobScheduleSuccess":
      return `attempt ${p.value.attempt}`;
    case "taskLaunchSuccess":
      return `pid ${p.value.pid} on ${p.value.hostname}`;
    case "taskFailed":
      return `${exitCategoryWord(p.value.category)}${p.value.exitCode ? `, exit code ${p.value.exitCode}` : ""}${p.value.signal ? `, ${p.value.signal}` : ""}${p.value.message ? `: ${p.value.message}` : ""}`;
    case "jobFailure":
    case "jobExecFail":
      return `${exitCategoryWord(p.value.category)}: ${p.value.message}`;
    case "partitionStatusChanged":
      return `${p.value.partitionRef?.str} ${partitionStatusWord(p.value.status)} ${p.value.message}`;
    case "partitionManifest":
      return `manifest of ${p.value.outputs.map((o) => o.str).join(", ")}`;
    case "jobHeartbeat":
      return p.value.rssBytes ? `${(Number(p.value.rssBytes) / 1048576).toFixed(1)} MiB resident` : "";
    case "jobRunTaken":
      return `by worker ${p.value.workerId} on ${p.value.hostname}`;
    case "configValidateFail":
    case "taskLaunchFail":
    case "jobScheduleFail":
      return p.value.message;
    default:
      return "";
  }
}

function EventTable({ events }: { events: readonly { offset: bigint; event: BuildEvent }[] }) {
  if (events.length === 0) return <p className="muted">No events yet.</p>;
  return (
    <table className="events">
      <thead>
        <tr>
          <th>Offset</th>
          <th>When</th>
          <th>Event</th>
          <th>Detail</th>
        </tr>
      </thead>
      <tbody>
        {events.map(({ offset, event }) => (
          <tr key={String(offset)} className={event.event.case === "taskFailed" ? "fail-row" : ""}>
            <td>{String(offset)}</td>
            <td>
              <Time value={ms(event.timestamp)} />
            </td>
            <td>
              <code>{event.event.case}</code>
            </td>
            <td>{describe(event)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
