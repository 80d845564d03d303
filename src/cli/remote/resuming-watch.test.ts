// The reconnecting WatchEvents, against a fake service whose streams break: pure logic (the real
// replica restart is in src/service/replicas.test.ts).
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { LoggedBuildEventSchema, type LoggedBuildEvent } from "../../gen/databuild_pb.ts";
import type { RemoteService } from "./client.ts";
import { resumingWatch } from "./resuming-watch.ts";

/** A service whose n-th stream yields `plan[n].events` events after the offset asked, then breaks with `plan[n].end` (or ends cleanly). */
function fakeService(plan: { events: number; end?: Code }[]): { service: RemoteService; asked: bigint[] } {
  const asked: bigint[] = [];
  const service = {
    url: "http://replica",
    stream: (_what: string, open: (client: unknown) => AsyncIterable<LoggedBuildEvent>) => open(client),
  } as unknown as RemoteService;
  const client = {
    async *watchEvents(request: { afterOffset: bigint }) {
      const step = plan[asked.length] ?? { events: 0 };
      asked.push(request.afterOffset);
      for (let i = 1n; i <= BigInt(step.events); i++)
        yield create(LoggedBuildEventSchema, { offset: request.afterOffset + i });
      // As RemoteService.stream maps it: the CLI's error with the ConnectError as its cause.
      if (step.end !== undefined)
        throw new Error("stream broke", { cause: new ConnectError("replica gone", step.end) });
    },
  };
  return { service, asked };
}

const collect = async (stream: AsyncIterable<LoggedBuildEvent>) => {
  const offsets: number[] = [];
  for await (const logged of stream) offsets.push(Number(logged.offset));
  return offsets;
};

describe("resumingWatch", () => {
  it("reopens a broken stream after the last offset it delivered: nothing missed, nothing twice", async () => {
    const { service, asked } = fakeService([{ events: 3, end: Code.Unavailable }, { events: 2 }]);
    const notes: string[] = [];
    const offsets = await collect(resumingWatch(service, {}, { note: (m) => notes.push(m), reached: true }));
    expect(offsets).toEqual([1, 2, 3, 4, 5]);
    expect(asked).toEqual([0n, 3n]);
    expect(notes[0]).toMatch(
      /^lost the stream from http:\/\/replica \(replica gone\); reconnecting to resume after offset 3/,
    );
    expect(notes[1]).toBe("the stream from http://replica is back; resuming after offset 3");
  });

  it("opens again a stream that ended cleanly before it was complete", async () => {
    const { service, asked } = fakeService([{ events: 1 }, { events: 1 }]);
    let seen = 0;
    const stream = resumingWatch(service, {}, { note: () => {}, complete: () => seen >= 2 });
    for await (const _ of stream) seen++;
    expect(asked).toEqual([0n, 1n]);
  });

  it("fails at once for an error that is not an outage, and for a service never reached", async () => {
    const refused = fakeService([{ events: 0, end: Code.PermissionDenied }]);
    await expect(collect(resumingWatch(refused.service, {}, { note: () => {}, reached: true }))).rejects.toThrow(
      "stream broke",
    );
    const away = fakeService([{ events: 0, end: Code.Unavailable }]);
    await expect(collect(resumingWatch(away.service, {}, { note: () => {} }))).rejects.toThrow("stream broke");
    expect(away.asked).toHaveLength(1);
  });

  it("gives up once the service has been away longer than allowed", async () => {
    const { service, asked } = fakeService(Array.from({ length: 50 }, () => ({ events: 0, end: Code.Unavailable })));
    const stream = resumingWatch(service, {}, { note: () => {}, reached: true, giveUpAfterMs: 300 });
    await expect(collect(stream)).rejects.toThrow("stream broke");
    expect(asked.length).toBeGreaterThan(1);
    expect(asked.length).toBeLessThan(10);
  });
});
