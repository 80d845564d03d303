/** Small pieces every page uses: links to partitions, builds and job runs, status badges, errors. */
import type { ReactNode } from "react";
import { Link } from "react-router";
import { errorMessage } from "../lib/api.ts";
import { fullTime, formatTime, shortId } from "../lib/format.ts";
import type { Tone } from "../lib/status.ts";

export function partitionPath(ref: string): string {
  return `/partitions/${encodeURIComponent(ref)}`;
}

/** Every partition shown is a link whose text is its ref (SPEC 3.10). */
export function PartitionLink({ partitionRef }: { partitionRef: string }) {
  return (
    <Link className="ref" to={partitionPath(partitionRef)}>
      {partitionRef}
    </Link>
  );
}

export function BuildLink({ id }: { id: string }) {
  if (!id) return <span className="muted">—</span>;
  return (
    <Link className="id" to={`/builds/${encodeURIComponent(id)}`} title={id}>
      {shortId(id)}
    </Link>
  );
}

export function JobRunLink({ id, children }: { id: string; children?: ReactNode }) {
  if (!id) return <span className="muted">—</span>;
  return (
    <Link className="id" to={`/job-runs/${encodeURIComponent(id)}`} title={id}>
      {children ?? shortId(id)}
    </Link>
  );
}

export function Badge({ tone, children }: { tone: Tone; children: ReactNode }) {
  return <span className={`badge tone-${tone}`}>{children}</span>;
}

export function Time({ value }: { value: number | undefined }) {
  return <time title={fullTime(value)}>{formatTime(value)}</time>;
}

export function ErrorBox({ error }: { error: unknown }) {
  return (
    <div className="error" role="alert">
      {errorMessage(error)}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** A definition list of label → value rows (empty values left out). */
export function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="facts">
      {rows
        .filter(([, value]) => value !== undefined && value !== null && value !== "" && value !== false && value !== 0)
        .map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
    </dl>
  );
}
