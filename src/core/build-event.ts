/**
 * @module Typed construction of build event payloads. A payload is the
 * `event` oneof of a BuildEvent; its `case` says which diagram step or status
 * change it records (docs/events.md).
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
import { BuildEventSchema, type BuildEvent } from "../gen/databuild_pb.ts";

export type EventPayload = BuildEvent["event"];
export type EventCase = NonNullable<EventPayload["case"]>;
export type EventValue<C extends EventCase> = Extract<EventPayload, { case: C }>["value"];
export type EventInit<C extends EventCase> = MessageInitShape<GenMessage<EventValue<C>>>;

/** Creates the payload of kind `kind` from a partial init object. */
export function eventPayload<C extends EventCase>(kind: C, init: EventInit<C>): EventPayload {
  const schema = BuildEventSchema.field[kind]?.message;
  if (!schema) throw new Error(`BuildEvent has no message field "${kind}"`);
  return { case: kind, value: create(schema, init as never) } as EventPayload;
}

/** A receiver of event payloads (the planner and executor report through one). */
export type EmitEvent = (payload: EventPayload) => void;
