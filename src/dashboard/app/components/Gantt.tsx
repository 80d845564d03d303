/**
 * A build's timeline: one bar per job run, from scheduled (light) through
 * running to its end (or now, while it runs), on one time axis. Rows are
 * virtualized: a build of thousands of job runs renders a screenful.
 */
import { useVirtualizer } from "@tanstack/react-virtual";
import { useRef } from "react";
import type { JobRunView } from "../../../gen/databuild_pb.ts";
import { formatDuration, ms } from "../lib/format.ts";
import { jobRunStatusWord } from "../lib/status.ts";
import { JobRunLink } from "./common.tsx";

const ROW_HEIGHT = 26;

export function Gantt({ runs, now }: { runs: readonly JobRunView[]; now: number }) {
  const scroller = useRef<HTMLDivElement>(null);
  const sorted = [...runs].sort(
    (a, b) => (ms(a.startedAt ?? a.scheduledAt) ?? now) - (ms(b.startedAt ?? b.scheduledAt) ?? now),
  );
  const virtualizer = useVirtualizer({
    count: sorted.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });
  if (runs.length === 0) return <p className="muted">No job runs yet.</p>;
  const starts = sorted.map((r) => ms(r.scheduledAt) ?? ms(r.startedAt) ?? now);
  const t0 = Math.min(...starts);
  const t1 = Math.max(t0 + 1, ...sorted.map((r) => ms(r.endedAt) ?? now));
  const pct = (t: number) => `${(((t - t0) / (t1 - t0)) * 100).toFixed(3)}%`;
  const width = (a: number, b: number) => `max(2px, ${(((b - a) / (t1 - t0)) * 100).toFixed(3)}%)`;
  return (
    <div className="gantt">
      <div className="gantt-axis" aria-hidden="true">
        {[0, 0.25, 0.5, 0.75, 1].map((f) => (
          <span key={f} style={{ left: `${f * 100}%` }}>
            {formatDuration(f * (t1 - t0))}
          </span>
        ))}
      </div>
      <div ref={scroller} className="virtual-scroll" style={{ height: Math.min(520, sorted.length * ROW_HEIGHT + 2) }}>
        <ul role="list" className="virtual-inner" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((item) => {
            const run = sorted[item.index]!;
            const scheduled = ms(run.scheduledAt) ?? ms(run.startedAt) ?? now;
            const started = ms(run.startedAt);
            const ended = ms(run.endedAt) ?? now;
            const [word, tone] = jobRunStatusWord(run.status);
            const output = run.task?.config?.outputs[0]?.str ?? "";
            const took = started !== undefined ? formatDuration(ended - started) : "not started";
            return (
              <li
                key={run.jobRunId}
                className="gantt-row"
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
              >
                <JobRunLink id={run.jobRunId}>
                  {run.task?.job?.label}: {output}
                </JobRunLink>
                <span className="gantt-track" title={`${word}, ${took}`}>
                  <span
                    className="gantt-wait"
                    style={{ left: pct(scheduled), width: width(scheduled, started ?? ended) }}
                  />
                  {started !== undefined && (
                    <span
                      className={`gantt-bar tone-${tone}`}
                      style={{ left: pct(started), width: width(started, ended) }}
                    />
                  )}
                </span>
                <span className="muted">
                  {word} · {took}
                </span>
              </li>
            );
          })}
        </ul>
      </div>
    </div>
  );
}
