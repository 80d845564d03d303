/**
 * /partitions?search=TEXT&status=WORD,...: every partition the log knows,
 * by output pattern ("reviews/date={date}") or ref prefix, filtered by
 * status; a status grid when the search is a pattern with a parameter.
 */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import type { PartitionStatus } from "../../../gen/databuild_pb.ts";
import { client } from "../lib/api.ts";
import { ms, plural } from "../lib/format.ts";
import {
  PARTITION_STATUSES,
  partitionStatusFromWord,
  partitionStatusTone,
  partitionStatusWord,
} from "../lib/status.ts";
import { Badge, BuildLink, ErrorBox, Loading, PartitionLink, Time } from "../components/common.tsx";
import { PartitionGrid } from "../components/PartitionGrid.tsx";

const PAGE_SIZE = 500;
const ROW_HEIGHT = 34;

/** A search is a pattern when it has a {parameter}; otherwise a prefix. */
function isPattern(search: string): boolean {
  return /\{[A-Za-z_][A-Za-z0-9_]*\}/.test(search);
}

export function PartitionsPage() {
  const [params, setParams] = useSearchParams();
  const search = params.get("search") ?? "";
  const statusWords = (params.get("status") ?? "").split(",").filter(Boolean);
  const statuses = statusWords.map(partitionStatusFromWord).filter((s): s is PartitionStatus => s !== undefined);
  const [draft, setDraft] = useState(search);
  useEffect(() => setDraft(search), [search]);

  const update = (next: { search?: string; statuses?: PartitionStatus[] }) => {
    const p = new URLSearchParams(params);
    const s = next.search ?? search;
    if (s) p.set("search", s);
    else p.delete("search");
    const st = next.statuses ?? statuses;
    if (st.length > 0) p.set("status", st.map(partitionStatusWord).join(","));
    else p.delete("status");
    setParams(p);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    update({ search: draft.trim() });
  };
  const toggle = (status: PartitionStatus) =>
    update({ statuses: statuses.includes(status) ? statuses.filter((s) => s !== status) : [...statuses, status] });

  return (
    <section>
      <h1>Partitions</h1>
      <form className="search" role="search" onSubmit={submit}>
        <label htmlFor="partition-search">Search partitions</label>
        <input
          id="partition-search"
          type="search"
          placeholder='a pattern, "reviews/date={date}", or a prefix, "reviews/"'
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <button type="submit">Search</button>
      </form>
      <Datasets />
      <fieldset className="status-filter">
        <legend>Status</legend>
        {PARTITION_STATUSES.map((status) => (
          <label key={status} className={`chip tone-${partitionStatusTone(status)}`}>
            <input type="checkbox" checked={statuses.includes(status)} onChange={() => toggle(status)} />
            {partitionStatusWord(status)}
          </label>
        ))}
        {statuses.length > 0 && (
          <button type="button" className="link" onClick={() => update({ statuses: [] })}>
            all statuses
          </button>
        )}
      </fieldset>
      {isPattern(search) && <PartitionGrid pattern={search} statuses={statuses} />}
      <PartitionList search={search} statuses={statuses} />
    </section>
  );
}

/** The graph's output patterns, each a search. */
function Datasets() {
  const graph = useQuery({ queryKey: ["graph"], queryFn: () => client.getGraph({}), staleTime: 60_000 });
  const patterns = useMemo(
    () => [...new Set(graph.data?.graph?.jobs.flatMap((job) => job.outputPatterns) ?? [])].sort(),
    [graph.data],
  );
  if (patterns.length === 0) return null;
  return (
    <nav className="datasets" aria-label="Datasets">
      <span className="muted">Datasets:</span>
      {patterns.map((pattern) => (
        <Link key={pattern} to={`/partitions?search=${encodeURIComponent(pattern)}`}>
          {pattern}
        </Link>
      ))}
    </nav>
  );
}

function PartitionList({ search, statuses }: { search: string; statuses: PartitionStatus[] }) {
  const pattern = isPattern(search);
  const list = useInfiniteQuery({
    queryKey: ["partitions", search, statuses],
    queryFn: ({ pageParam, signal }) =>
      client.listPartitions(
        {
          pattern: pattern ? search : "",
          prefix: pattern ? "" : search,
          statuses,
          pageSize: PAGE_SIZE,
          pageToken: pageParam,
        },
        { signal },
      ),
    initialPageParam: "",
    getNextPageParam: (last) => last.nextPageToken || undefined,
    refetchInterval: 5_000,
  });
  const rows = useMemo(() => list.data?.pages.flatMap((page) => page.partitions) ?? [], [list.data]);
  const total = Number(list.data?.pages[0]?.total ?? 0);
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items[items.length - 1]?.index ?? 0;
  useEffect(() => {
    if (lastIndex >= rows.length - 50 && list.hasNextPage && !list.isFetchingNextPage) void list.fetchNextPage();
  }, [lastIndex, rows.length, list]);

  if (list.error) return <ErrorBox error={list.error} />;
  if (!list.data) return <Loading what="partitions" />;
  return (
    <div className="partition-list">
      <p className="count" aria-live="polite">
        {plural(total, "partition")}
        {search ? ` matching ${search}` : ""}
        {rows.length < total ? ` (${rows.length.toLocaleString("en")} loaded; scroll for more)` : ""}
      </p>
      {rows.length > 0 && (
        <div className="table-head partition-row" aria-hidden="true">
          <span>Partition</span>
          <span>Status</span>
          <span>Job</span>
          <span>Updated</span>
          <span>Build</span>
        </div>
      )}
      <div ref={scroller} className="virtual-scroll" style={{ height: Math.min(600, rows.length * ROW_HEIGHT + 2) }}>
        <ul role="list" style={{ height: virtualizer.getTotalSize() }} className="virtual-inner">
          {items.map((item) => {
            const view = rows[item.index]!;
            const ref = view.partitionRef?.str ?? "";
            return (
              <li
                key={ref}
                className="partition-row"
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
              >
                <PartitionLink partitionRef={ref} />
                <Badge tone={partitionStatusTone(view.status)}>{partitionStatusWord(view.status)}</Badge>
                <span className="muted">{view.jobLabel || view.manifest?.task?.job?.label || ""}</span>
                <Time value={ms(view.updatedAt)} />
                <BuildLink id={view.buildRequestId} />
              </li>
            );
          })}
        </ul>
      </div>
    </div>
  );
}
