/**
 * @module Which build requests a service replica continues when they are
 * lost (SPEC 3.7, replicas): those made through the service or by a
 * trigger. A CLI build request is never adopted: its user is there to run it
 * again. The replicas (adoption) and `databuild --server … build` (waiting
 * for a successor) both ask this.
 */
import type { BuildRequestView } from "../gen/databuild_pb.ts";

const ADOPTABLE_ORIGINS: ReadonlySet<string> = new Set(["service", "trigger"]);

export function isAdoptable(view: Pick<BuildRequestView, "origin"> | undefined): boolean {
  return view !== undefined && ADOPTABLE_ORIGINS.has(view.origin);
}
