/**
 * @module The integer stored in the `kind` column: the field number of the
 * event's payload in BuildEvent's `event` oneof (proto/databuild.proto).
 * Field numbers are fixed forever by protobuf's evolution rules (never
 * renumbered, retired ones `reserved`), so stored codes never depend on the
 * order of anything in this code.
 */
import type { EventCase } from "../core/build-event.ts";
import { BuildEventSchema, type BuildEvent } from "../gen/databuild_pb.ts";

const PAYLOAD = BuildEventSchema.oneofs.find((o) => o.localName === "event");
const CODES = new Map<string, number>(PAYLOAD?.fields.map((f) => [f.localName, f.number]));

/** The code of a payload kind. Throws for a name that is no BuildEvent payload. */
export function kindCode(kind: EventCase): number {
  const code = CODES.get(kind);
  if (code === undefined) throw new Error(`"${kind}" is not a BuildEvent payload kind`);
  return code;
}

/** The code of `event`'s payload kind, or null when it has none this databuild knows. */
export function kindCodeOf(event: BuildEvent): number | null {
  return event.event.case === undefined ? null : kindCode(event.event.case);
}
