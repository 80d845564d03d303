// How the SQLite log stores a lean manifest, and reads back both forms: the
// inputs' job runs by number in the ids table (schema version 5), and as
// base64url of their 16 bytes (rows written by version 4).
import { describe, expect, it } from "vitest";
import { eventPayload } from "../../core/build-event.ts";
import { newId } from "../../core/ids.ts";
import { newEvent } from "../../core/new-event.ts";
import { DepType, type BuildEvent } from "../../gen/databuild_pb.ts";
import { toEventRow, type EventRow } from "../event-row.ts";
import { toStoredId } from "../stored-id.ts";
import { fromSqliteRow, toSqliteRow, type SqliteStoredEvent } from "./sqlite-row.ts";

const buildRequestId = newId();
const jobRunId = newId();
const inputRuns = [newId(), newId(), newId()];

function manifest(inputs = inputRuns): BuildEvent {
  return newEvent(
    { buildRequestId, jobRunId },
    eventPayload("partitionManifest", {
      outputs: [{ str: "report/1" }],
      inputs: inputs.map((run, i) => ({
        partitionRef: { str: `agg/${i}` },
        depType: DepType.MATERIALIZE,
        jobRunId: run,
      })),
      task: { job: { label: "report" } },
      buildRequestId,
      jobRunId,
      jobVersion: "1.0.0",
      graphLabel: "w",
    }),
  );
}

/** What a read of `row` selects, with `payload` and `kind` as stored. */
function readBack(row: EventRow, payload: Buffer, kind: number): SqliteStoredEvent {
  const id = (text: string) => (text === "" ? null : toStoredId(text));
  return [1, row.eventId, id(row.buildRequestId), id(row.jobRunId), row.time, payload, kind];
}

describe("a lean manifest in the SQLite log", () => {
  it("names its inputs' job runs by number in the ids table, and reads back exactly what was appended", () => {
    const event = manifest();
    const row = toSqliteRow(event);
    expect(row.kind).toBeLessThan(0);
    expect(row.partitions).toEqual(toEventRow(event).partitions);
    const numbers = new Map<string, number>();
    const payload = row.leanManifest!((run) => {
      if (!numbers.has(run)) numbers.set(run, 70_000 + numbers.size);
      return numbers.get(run)!;
    });
    expect([...numbers.keys()]).toEqual(inputRuns);
    const text = payload.toString("latin1");
    for (const run of inputRuns) expect(text).not.toContain(run);
    expect(text).toContain(`~${(70_000).toString(36)}`);
    const byNumber = new Map([...numbers].map(([run, n]) => [n, run]));
    expect(fromSqliteRow(readBack(row, payload, row.kind!), (n) => byNumber.get(n)!)).toEqual(event);
  });

  it("is smaller than version 4's form by about 17 bytes an input", () => {
    const event = manifest();
    const row = toSqliteRow(event);
    const v5 = row.leanManifest!(() => 120_000);
    const v4 = version4Payload(event);
    expect(v4.length - v5.length).toBeGreaterThanOrEqual(3 * 16);
  });

  it("reads a row version 4 wrote (base64url job run ids) as before", () => {
    const event = manifest();
    const row = toSqliteRow(event);
    const runOf = () => expect.fail("a version 4 row names no job run by number");
    expect(fromSqliteRow(readBack(row, version4Payload(event), row.kind!), runOf)).toEqual(event);
  });

  it("stores the manifest as it was appended, though its payload is made at commit", () => {
    const event = manifest();
    const expected = structuredClone(event);
    const row = toSqliteRow(event);
    if (event.event.case !== "partitionManifest") expect.fail("a manifest");
    event.event.value.inputs[0]!.partitionRef!.str = "changed/0";
    event.event.value.inputs[1]!.jobRunId = newId();
    const numbers: string[] = [];
    const payload = row.leanManifest!((run) => numbers.push(run) - 1);
    expect(fromSqliteRow(readBack(row, payload, row.kind!), (n) => numbers[n]!)).toEqual(expected);
  });

  it("refuses a manifest that does not encode when it is appended, not inside the write transaction", () => {
    const event = manifest();
    if (event.event.case !== "partitionManifest") expect.fail("a manifest");
    event.event.value.inputs[2]!.depType = 2 ** 40;
    expect(() => toSqliteRow(event)).toThrow();
  });

  it("stores a manifest with an input job run id that is no canonical UUID whole", () => {
    const event = manifest(["run-0", inputRuns[0]!]);
    const row = toSqliteRow(event);
    expect(row.leanManifest).toBeUndefined();
    expect(row.kind).toBeGreaterThan(0);
    expect(fromSqliteRow(readBack(row, row.payload, row.kind!), () => expect.fail("whole"))).toEqual(event);
  });
});

/** The payload version 4 stored for a lean manifest. */
function version4Payload(event: BuildEvent): Buffer {
  if (event.event.case !== "partitionManifest") throw new Error("not a manifest");
  const m = event.event.value;
  const inputs = m.inputs.map((input) => ({
    ...input,
    jobRunId: (toStoredId(input.jobRunId) as Buffer).toString("base64url"),
  }));
  return toEventRow({
    ...event,
    event: { case: "partitionManifest", value: { ...m, buildRequestId: "", jobRunId: "", inputs } },
  }).payload;
}
