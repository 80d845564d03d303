/** /builds: every build request, newest first, live (polled while the page is open). */
import { useQuery } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useRef } from "react";
import { Link } from "react-router";
import { client } from "../lib/api.ts";
import { formatDuration, ms, plural, shortId } from "../lib/format.ts";
import { buildIsFinal, buildStatusWord } from "../lib/status.ts";
import { Badge, ErrorBox, Loading, PartitionLink, Time } from "../components/common.tsx";

const ROW_HEIGHT = 40;
const SHOWN_REFS = 2;

export function BuildsPage() {
  const builds = useQuery({
    queryKey: ["builds"],
    queryFn: ({ signal }) => client.listBuildRequests({ pageSize: 1_000 }, { signal }),
    refetchInterval: 1_500,
  });
  const rows = builds.data?.buildRequests ?? [];
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });
  if (builds.error) return <ErrorBox error={builds.error} />;
  if (!builds.data) return <Loading what="build requests" />;
  const now = Date.now();
  return (
    <section>
      <h1>Build requests</h1>
      <p className="count" aria-live="polite">
        {plural(rows.length, "build request")}
        {builds.data.nextPageToken ? " (the newest 1,000)" : ""}
      </p>
      <div className="table-head build-row" aria-hidden="true">
        <span>Build</span>
        <span>Status</span>
        <span>Requested</span>
        <span>By</span>
        <span>Received</span>
        <span>Took</span>
        <span>Jobs</span>
      </div>
      <div ref={scroller} className="virtual-scroll" style={{ height: Math.min(640, rows.length * ROW_HEIGHT + 2) }}>
        <ul role="list" className="virtual-inner" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((item) => {
            const b = rows[item.index]!;
            const [word, tone] = buildStatusWord(b.status);
            const received = ms(b.receivedAt);
            const end = buildIsFinal(b.status) ? ms(b.updatedAt) : now;
            const refs = b.requestedPartitions.map((r) => r.str);
            return (
              <li
                key={b.buildRequestId}
                className="build-row"
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
              >
                <Link className="id" to={`/builds/${encodeURIComponent(b.buildRequestId)}`} title={b.buildRequestId}>
                  {shortId(b.buildRequestId)}
                </Link>
                <Badge tone={tone}>{word}</Badge>
                <span className="refs">
                  {refs.slice(0, SHOWN_REFS).map((ref) => (
                    <PartitionLink key={ref} partitionRef={ref} />
                  ))}
                  {refs.length > SHOWN_REFS && <span className="muted"> +{refs.length - SHOWN_REFS} more</span>}
                </span>
                <span className="muted" title={b.requester}>
                  {b.trigger ? `trigger ${b.trigger}` : b.requester || b.origin}
                </span>
                <Time value={received} />
                <span>{received !== undefined && end !== undefined ? formatDuration(end - received) : "—"}</span>
                <span>
                  {b.jobsSucceeded} ok{b.jobsFailed > 0 && <span className="fail-text"> · {b.jobsFailed} failed</span>}
                </span>
              </li>
            );
          })}
        </ul>
      </div>
    </section>
  );
}
