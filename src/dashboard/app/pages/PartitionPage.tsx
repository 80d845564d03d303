/**
 * /partitions/REF (the ref URL-encoded): explain in words, the manifest,
 * lineage up (the manifest's inputs) and down (partitions whose manifests
 * read it), the history of its builds, and invalidate.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useLocation } from "react-router";
import { DepType, type PartitionManifest } from "../../../gen/databuild_pb.ts";
import { client } from "../lib/api.ts";
import { formatDuration, ms, plural } from "../lib/format.ts";
import { partitionHistory } from "../lib/history.ts";
import {
  buildStatusWord,
  exitCategoryWord,
  jobRunStatusWord,
  partitionStateWord,
  partitionStatusTone,
  partitionStatusWord,
} from "../lib/status.ts";
import { Badge, BuildLink, ErrorBox, Facts, JobRunLink, Loading, PartitionLink, Time } from "../components/common.tsx";

const DOWNSTREAM_SCAN = 5_000;

function refFromPath(pathname: string): string {
  const raw = pathname.replace(/^\/partitions\//, "");
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export function PartitionPage() {
  const ref = refFromPath(useLocation().pathname);
  return (
    <section key={ref}>
      <p className="crumbs">
        <Link to="/partitions">Partitions</Link> ›
      </p>
      <h1 className="ref-title">{ref}</h1>
      <Explanation partitionRef={ref} />
      <Manifest partitionRef={ref} />
      <Downstream partitionRef={ref} />
      <Invalidate partitionRef={ref} />
      <History partitionRef={ref} />
    </section>
  );
}

function Explanation({ partitionRef }: { partitionRef: string }) {
  const explain = useQuery({
    queryKey: ["explain", partitionRef],
    queryFn: ({ signal }) => client.explainPartition({ partition: { str: partitionRef } }, { signal }),
    refetchInterval: 5_000,
  });
  if (explain.error) return <ErrorBox error={explain.error} />;
  if (!explain.data) return <Loading what="the explanation" />;
  const e = explain.data;
  const [word, tone] = partitionStateWord(e.state);
  const run = e.jobRun;
  return (
    <div className="panel" aria-labelledby="explain-h">
      <h2 id="explain-h">
        Explain <Badge tone={tone}>{word}</Badge>
      </h2>
      <p className="summary">{e.summary || `${partitionRef} is ${word}.`}</p>
      <Facts
        rows={[
          ["Job now", e.jobLabel && `${e.jobLabel} ${e.jobVersion}`],
          ["Latest status", e.status && partitionStatusWord(e.status.status)],
          ["Build request", e.status?.buildRequestId && <BuildLink id={e.status.buildRequestId} />],
          [
            "Job run",
            run && (
              <>
                <JobRunLink id={run.jobRunId} /> {jobRunStatusWord(run.status)[0]}
                {run.exitCategory ? ` · ${exitCategoryWord(run.exitCategory)}` : ""}
              </>
            ),
          ],
          ["Updated", e.status?.updatedAt && <Time value={ms(e.status.updatedAt)} />],
          [
            "Claimed by",
            e.claimedBy && (
              <>
                <BuildLink id={e.claimedBy.buildRequestId} /> {buildStatusWord(e.claimedBy.status)[0]}
              </>
            ),
          ],
          [
            "Waited on by",
            e.delegatedBy.length > 0 && (
              <span className="inline-list">
                {e.delegatedBy.map((id) => (
                  <BuildLink key={id} id={id} />
                ))}
              </span>
            ),
          ],
        ]}
      />
      {e.staleReasons.length > 0 && (
        <>
          <h3>Why it is stale</h3>
          <ul>
            {e.staleReasons.map((reason, i) => (
              <li key={i}>
                {reason.message}
                {reason.input && (
                  <>
                    {" "}
                    (<PartitionLink partitionRef={reason.input.str} />)
                  </>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
      {e.stderrTail.length > 0 && (
        <>
          <h3>Last lines of stderr</h3>
          <pre className="stderr">{e.stderrTail.join("\n")}</pre>
        </>
      )}
      <h3>A build now would run</h3>
      {e.wouldRunError ? (
        <p className="error">{e.wouldRunError}</p>
      ) : e.wouldRun.length === 0 ? (
        <p className="muted">nothing: it is up to date</p>
      ) : (
        <ul className="tasks">
          {e.wouldRun.map((task, i) => (
            <li key={i}>
              <strong>{task.job?.label}</strong> →{" "}
              {task.config?.outputs.map((o) => (
                <PartitionLink key={o.str} partitionRef={o.str} />
              ))}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Manifest({ partitionRef }: { partitionRef: string }) {
  const status = useQuery({
    queryKey: ["partition", partitionRef],
    queryFn: ({ signal }) => client.getPartitions({ partitions: [{ str: partitionRef }] }, { signal }),
    refetchInterval: 5_000,
  });
  if (status.error) return <ErrorBox error={status.error} />;
  const view = status.data?.partitions[0];
  if (!view) return <Loading what="the manifest" />;
  const manifest = view.manifest;
  return (
    <>
      <div className="panel">
        <h2>Manifest</h2>
        {manifest ? <ManifestFacts manifest={manifest} /> : <p className="muted">Never built: no manifest.</p>}
      </div>
      <div className="panel">
        <h2>Upstream</h2>
        {manifest && manifest.inputs.length > 0 ? (
          <ul className="lineage">
            {manifest.inputs.map((input) => (
              <li key={input.partitionRef?.str}>
                <PartitionLink partitionRef={input.partitionRef?.str ?? ""} />{" "}
                <span className="muted">
                  {input.depType === DepType.QUERY ? "query" : "materialize"}
                  {input.jobRunId ? " · built by " : ""}
                </span>
                {input.jobRunId && <JobRunLink id={input.jobRunId} />}
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">{manifest ? "No inputs: a source partition." : "Not built yet."}</p>
        )}
      </div>
    </>
  );
}

function ManifestFacts({ manifest }: { manifest: PartitionManifest }) {
  const start = ms(manifest.startTime);
  const end = ms(manifest.endTime);
  return (
    <Facts
      rows={[
        ["Job", `${manifest.task?.job?.label ?? ""} ${manifest.jobVersion}`],
        ["Graph", manifest.graphLabel],
        ["Build request", <BuildLink key="b" id={manifest.buildRequestId} />],
        ["Job run", <JobRunLink key="j" id={manifest.jobRunId} />],
        ["Started", <Time key="s" value={start} />],
        ["Ended", <Time key="e" value={end} />],
        ["Took", start !== undefined && end !== undefined ? formatDuration(end - start) : undefined],
        [
          "Outputs",
          <span key="o" className="inline-list">
            {manifest.outputs.map((o) => (
              <PartitionLink key={o.str} partitionRef={o.str} />
            ))}
          </span>,
        ],
      ]}
    />
  );
}

/** How many partitions the catalog holds: what decides whether a scan starts by itself. */
function useCatalogSize(): number | undefined {
  const size = useQuery({
    queryKey: ["catalog-size"],
    queryFn: ({ signal }) => client.listPartitions({ pageSize: 1 }, { signal }),
    staleTime: 30_000,
  });
  return size.data ? Number(size.data.total) : undefined;
}

/**
 * Partitions whose last build read this one. The API has no reverse index,
 * so this scans the catalog's manifests: at once when it is small, on
 * request when it is large.
 */
function Downstream({ partitionRef }: { partitionRef: string }) {
  const [asked, setAsked] = useState(false);
  const total = useCatalogSize();
  const scan = asked || (total !== undefined && total <= DOWNSTREAM_SCAN);
  const down = useQuery({
    queryKey: ["downstream", partitionRef],
    staleTime: 30_000,
    enabled: scan,
    queryFn: async ({ signal }) => {
      const found: string[] = [];
      let token = "";
      let scanned = 0;
      let total = 0;
      do {
        const page = await client.listPartitions({ pageSize: DOWNSTREAM_SCAN, pageToken: token }, { signal });
        total = Number(page.total);
        for (const view of page.partitions) {
          if (view.manifest?.inputs.some((input) => input.partitionRef?.str === partitionRef))
            found.push(view.partitionRef?.str ?? "");
        }
        scanned += page.partitions.length;
        token = page.nextPageToken;
      } while (token && scanned < DOWNSTREAM_SCAN);
      return { found, scanned, total };
    },
  });
  return (
    <div className="panel">
      <h2>Downstream</h2>
      {!scan ? (
        total === undefined ? (
          <Loading what="the catalog" />
        ) : (
          <p>
            <button type="button" onClick={() => setAsked(true)}>
              Find partitions built from it
            </button>{" "}
            <span className="muted">
              (scans the first {plural(DOWNSTREAM_SCAN, "partition")} of {total.toLocaleString("en")})
            </span>
          </p>
        )
      ) : down.error ? (
        <ErrorBox error={down.error} />
      ) : !down.data ? (
        <Loading what="downstream partitions" />
      ) : down.data.found.length === 0 ? (
        <p className="muted">No partition was built from it.</p>
      ) : (
        <ul className="lineage">
          {down.data.found.map((ref) => (
            <li key={ref}>
              <PartitionLink partitionRef={ref} />
            </li>
          ))}
        </ul>
      )}
      {down.data && down.data.scanned < down.data.total && (
        <p className="muted">
          Searched the first {plural(down.data.scanned, "partition")} of {down.data.total.toLocaleString("en")}.
        </p>
      )}
    </div>
  );
}

function History({ partitionRef }: { partitionRef: string }) {
  const [read, setRead] = useState(0);
  const [from, setFrom] = useState(0n);
  const [asked, setAsked] = useState(false);
  const total = useCatalogSize();
  const scan = asked || (total !== undefined && total <= DOWNSTREAM_SCAN);
  const history = useQuery({
    queryKey: ["history", partitionRef, String(from)],
    staleTime: 10_000,
    enabled: scan,
    queryFn: ({ signal }) => partitionHistory(partitionRef, from, signal, setRead),
  });
  const items = history.data?.items ?? [];
  return (
    <div className="panel">
      <h2>History</h2>
      {!scan ? (
        <p>
          <button type="button" onClick={() => setAsked(true)}>
            Read its history
          </button>{" "}
          <span className="muted">(reads the log from the start: the API has no partition filter on WatchEvents)</span>
        </p>
      ) : history.error ? (
        <ErrorBox error={history.error} />
      ) : !history.data ? (
        <Loading what={`the history (${read.toLocaleString("en")} events read)`} />
      ) : items.length === 0 ? (
        <p className="muted">The log has nothing about it{from > 0n ? " after offset " + String(from) : ""}.</p>
      ) : (
        <table className="history">
          <thead>
            <tr>
              <th>When</th>
              <th>Status</th>
              <th>Build</th>
              <th>Job run</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {[...items].reverse().map((item) => (
              <tr key={String(item.offset)}>
                <td>
                  <Time value={item.at} />
                </td>
                <td>
                  {item.status !== undefined && (
                    <Badge tone={partitionStatusTone(item.status)}>{partitionStatusWord(item.status)}</Badge>
                  )}
                </td>
                <td>
                  <BuildLink id={item.buildRequestId} />
                </td>
                <td>
                  <JobRunLink id={item.jobRunId} />
                </td>
                <td>{item.what}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {history.data?.resumeAfter !== undefined && (
        <p>
          <span className="muted">
            Read {plural(history.data.read, "event")} of the log (up to offset {String(history.data.resumeAfter)}).
          </span>{" "}
          <button type="button" onClick={() => setFrom(history.data!.resumeAfter!)}>
            Read on
          </button>
        </p>
      )}
    </div>
  );
}

function Invalidate({ partitionRef }: { partitionRef: string }) {
  const [reason, setReason] = useState("");
  const queries = useQueryClient();
  const invalidate = useMutation({
    mutationFn: () => client.invalidate({ partitions: [{ str: partitionRef }], reason }),
    onSuccess: () => void queries.invalidateQueries(),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    invalidate.mutate();
  };
  return (
    <form className="panel" onSubmit={submit}>
      <h2>Invalidate</h2>
      <p className="muted">The next build that needs it rebuilds it. Needs a token with the build scope.</p>
      <label htmlFor="invalidate-reason">Reason</label>{" "}
      <input id="invalidate-reason" value={reason} onChange={(e) => setReason(e.target.value)} placeholder="why" />{" "}
      <button type="submit" disabled={invalidate.isPending}>
        Invalidate {partitionRef}
      </button>
      {invalidate.error && <ErrorBox error={invalidate.error} />}
      {invalidate.data && (
        <p role="status">
          {invalidate.data.invalidated.length > 0
            ? `Invalidated ${plural(invalidate.data.invalidated.length, "partition")}.`
            : `Nothing invalidated: ${invalidate.data.skipped.join("; ")}`}
        </p>
      )}
    </form>
  );
}
