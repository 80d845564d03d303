// The read RPCs through the generated Connect client against a real HTTP
// server, on a real SQLite log left by real builds: each answer equals what
// the CLI command prints on the same log.
import { toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BuildEventSchema,
  BuildRequestStatus,
  BuildRequestViewSchema,
  GraphDescriptionSchema,
  PartitionExplanationSchema,
  PartitionStatus,
  PartitionStatusViewSchema,
  type LoggedBuildEvent,
} from "../../gen/databuild_pb.ts";
import { entryText } from "../../core/log-entries.ts";
import type { EventLog } from "../../core/event-log.ts";
import { openSqliteEventLog } from "../../event-log/index.ts";
import { loadGraph } from "../../loader/load-graph.ts";
import { explanationSummary } from "../../cli/format/explanation.ts";
import { runCliCaptured as cli } from "../../cli/run-cli-captured.ts";
import { COUNTING_JOB_SH, manifestJob, manifestProject } from "../../testing/manifest-project.ts";
import { LiveLog, readRpcs } from "./index.ts";
import { startTestServer, type TestServer } from "./test-server.ts";

const FAIL_SH = `#!/usr/bin/env bash\necho "about to fail $1"\necho "no space left" >&2\nexit 3\n`;

let dir: string;
let graphFile: string;
let db: string;
let log: EventLog;
let live: LiveLog;
let server: TestServer;

const local = async (...args: string[]) => {
  const result = await cli(["--graph", graphFile, ...args]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
};
const lines = (text: string) => text.split("\n").filter((l) => l !== "");
const withoutSummary = (json: string) => JSON.stringify({ ...JSON.parse(json), summary: undefined });

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

async function code(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await call;
  } catch (error) {
    const e = ConnectError.from(error);
    return { code: e.code, message: e.rawMessage };
  }
  throw new Error("the call succeeded");
}

beforeAll(async () => {
  dir = manifestProject({
    "databuild.yaml":
      `name: reads\njobs:\n` +
      manifestJob("raw", "raw/{x}", ["jobs/run.sh"]) +
      manifestJob("clean", "clean/{x}", ["jobs/run.sh"], "raw/{x}") +
      manifestJob("bad", "bad/{x}", ["jobs/fail.sh"]),
    "jobs/run.sh": COUNTING_JOB_SH,
    "jobs/fail.sh": FAIL_SH,
  });
  graphFile = join(dir, "databuild.yaml");
  db = join(dir, ".databuild", "databuild.db");
  await local("build", "clean/1", "clean/2");
  expect((await cli(["--graph", graphFile, "build", "bad/1"])).code).toBe(1);
  log = await openSqliteEventLog(db, { pollIntervalMs: 20 });
  live = await LiveLog.open(log);
  const graph = await loadGraph(graphFile);
  server = await startTestServer(readRpcs({ log, live, graph, summarize: explanationSummary }));
}, 60_000);

afterAll(async () => {
  await server?.close();
  await live?.close();
  await log?.close();
});

describe("the read RPCs", () => {
  it("GetPartitions answers, in request order, what status --json prints", async () => {
    const refs = ["clean/2", "raw/1", "bad/1", "never/1", "clean/1"];
    const { partitions } = await server.client.getPartitions({ partitions: refs.map((str) => ({ str })) });
    expect(partitions.map((p) => p.partitionRef?.str)).toEqual(refs);
    expect(partitions.map((p) => toJsonString(PartitionStatusViewSchema, p))).toEqual(
      lines(await local("status", "--json", ...refs)),
    );
    expect(partitions[0]!.status).toBe(PartitionStatus.PARTITION_AVAILABLE);
    expect(partitions[0]!.manifest?.outputs[0]?.str).toBe("clean/2");
    expect(partitions[3]!.status).toBe(PartitionStatus.PARTITION_STATUS_UNSPECIFIED);
  });

  it("refuses a malformed ref with invalid_argument naming it and its field", async () => {
    const refused = await code(server.client.getPartitions({ partitions: [{ str: "raw/1" }, { str: "bad ref" }] }));
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.message).toContain('partitions[1]: malformed partition ref "bad ref"');
    const explain = await code(server.client.explainPartition({ partition: { str: "" } }));
    expect(explain).toEqual({
      code: Code.InvalidArgument,
      message: 'partition: malformed partition ref "": it is empty',
    });
  });

  it("ExplainPartition answers what explain --json prints", async () => {
    for (const ref of ["clean/1", "bad/1", "never/1", "clean/9"]) {
      const answer = await server.client.explainPartition({ partition: { str: ref } });
      const [printed] = lines(await local("explain", "--json", ref));
      expect(answer.summary).not.toBe("");
      expect(withoutSummary(toJsonString(PartitionExplanationSchema, answer))).toEqual(withoutSummary(printed!));
    }
    const failed = await server.client.explainPartition({ partition: { str: "bad/1" } });
    expect(failed.stderrTail).toEqual(["no space left"]);
    expect((await server.client.explainPartition({ partition: { str: "clean/9" } })).wouldRun.length).toBe(2);
  });

  it("ListPartitions pages by pattern or prefix and status in ref order, with a total", async () => {
    const byPattern = await server.client.listPartitions({ pattern: "clean/{x}" });
    expect(byPattern.partitions.map((p) => p.partitionRef?.str)).toEqual(["clean/1", "clean/2"]);
    expect(byPattern.total).toBe(2n);
    expect(byPattern.nextPageToken).toBe("");
    const all = await server.client.listPartitions({});
    expect(all.partitions.map((p) => p.partitionRef?.str)).toEqual(["bad/1", "clean/1", "clean/2", "raw/1", "raw/2"]);
    const failed = await server.client.listPartitions({ statuses: [PartitionStatus.PARTITION_FAILED] });
    expect(failed.partitions.map((p) => p.partitionRef?.str)).toEqual(["bad/1"]);
    const paged: string[] = [];
    let token = "";
    do {
      const page = await server.client.listPartitions({ prefix: "r", pageSize: 1, pageToken: token });
      expect(page.total).toBe(2n);
      paged.push(...page.partitions.map((p) => p.partitionRef!.str));
      token = page.nextPageToken;
    } while (token);
    expect(paged).toEqual(["raw/1", "raw/2"]);
    expect((await code(server.client.listPartitions({ pattern: "clean/{" }))).code).toBe(Code.InvalidArgument);
    expect((await code(server.client.listPartitions({ pageToken: "nonsense!" }))).code).toBe(Code.InvalidArgument);
  });

  it("GetBuildRequest takes the full id or the short id the CLI prints; ListBuildRequests pages newest first", async () => {
    const printed = lines(await local("builds", "--json"));
    const views: string[] = [];
    let token = "";
    do {
      const page = await server.client.listBuildRequests({ pageSize: 1, pageToken: token });
      views.push(...page.buildRequests.map((b) => toJsonString(BuildRequestViewSchema, b)));
      token = page.nextPageToken;
    } while (token);
    expect(views).toEqual([...printed].reverse());
    const first = JSON.parse(printed[0]!).buildRequestId as string;
    const byShort = await server.client.getBuildRequest({ buildRequestId: first.slice(-8) });
    expect(toJsonString(BuildRequestViewSchema, byShort)).toBe(printed[0]);
    const failed = await server.client.listBuildRequests({ statuses: [BuildRequestStatus.BUILD_REQUEST_FAILED] });
    expect(failed.buildRequests.map((b) => b.requestedPartitions[0]?.str)).toEqual(["bad/1"]);
    expect((await code(server.client.getBuildRequest({ buildRequestId: "zzzz" }))).code).toBe(Code.NotFound);
    expect((await code(server.client.getBuildRequest({ buildRequestId: "" }))).code).toBe(Code.InvalidArgument);
  });

  it("WatchEvents with stop_at_end streams what events --json prints, with offsets, and resumes from one", async () => {
    const printed = lines(await local("events", "--json"));
    const streamed = await collect(server.client.watchEvents({ stopAtEnd: true }));
    expect(streamed.map((e) => toJsonString(BuildEventSchema, e.event!))).toEqual(printed);
    const offsets = streamed.map((e) => Number(e.offset));
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    const resumed = await collect(server.client.watchEvents({ afterOffset: streamed[9]!.offset, stopAtEnd: true }));
    expect(resumed.map((e) => e.offset)).toEqual(streamed.slice(10).map((e) => e.offset));
    // One build request: the stream ends with it, following or not (it has ended).
    const build = streamed.find((e) => e.event?.event.case === "buildRequestReceived")!.event!.buildRequestId;
    const ofBuild = lines(await local("events", "--json", "--build", build.slice(-8)));
    const followed = await collect(server.client.watchEvents({ buildRequestId: build.slice(-8) }));
    expect(followed.map((e) => toJsonString(BuildEventSchema, e.event!))).toEqual(ofBuild);
    const run = streamed.find((e) => e.event?.event.case === "jobScheduleSuccess")!.event!.jobRunId;
    const ofRun = lines(await local("events", "--json", "--job-run", run));
    const runEvents = await collect(server.client.watchEvents({ jobRunId: run, stopAtEnd: true }));
    expect(runEvents.map((e) => toJsonString(BuildEventSchema, e.event!))).toEqual(ofRun);
    expect((await code(collect(server.client.watchEvents({ buildRequestId: "nope" })))).code).toBe(Code.NotFound);
  });

  it("a following WatchEvents delivers a build another process runs; an abandoned stream leaves the server serving", async () => {
    const head = await log.head();
    const abandoned = new AbortController();
    const first = server.client.watchEvents({ afterOffset: 1n }, { signal: abandoned.signal });
    const it1 = first[Symbol.asyncIterator]();
    expect((await it1.next()).value?.offset).toBe(2n);
    abandoned.abort();
    const drained = (async () => {
      for (;;) if ((await it1.next()).done) return;
    })();
    await expect(drained).rejects.toThrow();

    const following = new AbortController();
    const seen: LoggedBuildEvent[] = [];
    const watching = (async () => {
      try {
        for await (const e of server.client.watchEvents({ afterOffset: BigInt(head) }, { signal: following.signal })) {
          seen.push(e);
          if (
            e.event?.event.case === "buildRequestStatusChanged" &&
            e.event.event.value.status === BuildRequestStatus.BUILD_REQUEST_COMPLETED
          )
            following.abort();
        }
      } catch (error) {
        if (ConnectError.from(error).code !== Code.Canceled) throw error;
      }
    })();
    await local("build", "clean/3");
    await watching;
    expect(seen[0]!.offset).toBe(BigInt(head + 1));
    expect(seen.some((e) => e.event?.event.case === "partitionManifest")).toBe(true);
    // Still serving, and the live model has the new partition.
    await live.caughtUpTo(await log.head());
    const { partitions } = await server.client.getPartitions({ partitions: [{ str: "clean/3" }] });
    expect(partitions[0]!.status).toBe(PartitionStatus.PARTITION_AVAILABLE);
    const listed = await server.client.listPartitions({ pattern: "clean/{x}" });
    expect(listed.partitions.map((p) => p.partitionRef?.str)).toEqual(["clean/1", "clean/2", "clean/3"]);
  }, 30_000);

  it("GetJobRunLogs streams what logs prints, with the job run, and resumes after a sequence number", async () => {
    const [failed] = (await server.client.listJobRuns({ buildRequestId: (await failedBuild()).buildRequestId }))
      .jobRuns;
    const printed = await cli(["--graph", graphFile, "logs", failed!.jobRunId.slice(-8)]);
    const messages = await collect(server.client.getJobRunLogs({ jobRunId: failed!.jobRunId.slice(-8) }));
    expect(messages.flatMap((m) => m.entries.map(entryText)).join("")).toBe(printed.stdout);
    expect(printed.stdout).toBe("about to fail bad/1\nno space left\n");
    expect(messages.at(-1)!.jobRun?.jobRunId).toBe(failed!.jobRunId);
    const rest = await collect(
      server.client.getJobRunLogs({ jobRunId: failed!.jobRunId, afterSequence: 1n, follow: true }),
    );
    expect(rest.flatMap((m) => m.entries.map(entryText)).join("")).toBe("no space left\n");
    const got = await server.client.getJobRun({ jobRunId: failed!.jobRunId.slice(0, 12) });
    expect(got.jobRunId).toBe(failed!.jobRunId);
  });

  it("GetGraph describes the graph as jobs --json does", async () => {
    const { graph, triggers } = await server.client.getGraph({});
    expect(toJsonString(GraphDescriptionSchema, graph!, { alwaysEmitImplicit: true }) + "\n").toBe(
      await local("jobs", "--json"),
    );
    expect(triggers).toEqual([]);
  });

  // Last of these: it adds partitions the listings above would show.
  it("GetPartitions in binary answers the same, from its cache too, and anew once a partition is rebuilt", async () => {
    await local("build", "raw/7");
    await live.caughtUpTo(await log.head());
    const refs = ["raw/7", "clean/1", "never/2", "raw/7"];
    const asJson = async () =>
      (await server.binaryClient.getPartitions({ partitions: refs.map((str) => ({ str })) })).partitions.map((p) =>
        toJsonString(PartitionStatusViewSchema, p),
      );
    const first = await asJson();
    expect(first).toEqual(lines(await local("status", "--json", ...refs)));
    // Answered from the encoded views now: still the same.
    expect(await asJson()).toEqual(first);
    const { partitions: viaJson } = await server.client.getPartitions({ partitions: refs.map((str) => ({ str })) });
    expect(viaJson.map((p) => toJsonString(PartitionStatusViewSchema, p))).toEqual(first);

    await local("build", "--force", "raw/7");
    await live.caughtUpTo(await log.head());
    const rebuilt = await asJson();
    expect(rebuilt).toEqual(lines(await local("status", "--json", ...refs)));
    expect(JSON.parse(rebuilt[0]!).jobRunId).not.toBe(JSON.parse(first[0]!).jobRunId);
    expect(rebuilt.slice(1, 3)).toEqual(first.slice(1, 3));
  }, 30_000);
});

describe("LiveLog", () => {
  it("applies an append once caughtUpTo its offset resolves (read your writes)", async () => {
    const other = await openSqliteEventLog(db);
    try {
      const before = live.cursor;
      const received = (await log.read(0, { kinds: ["buildRequestReceived"] }, 1))[0]!.event;
      const offsets = await other.append(
        ["0000-live-test-1", "0000-live-test-2"].map((id) => ({
          ...received,
          eventId: crypto.randomUUID(),
          buildRequestId: id,
        })),
      );
      await live.caughtUpTo(offsets[1]!);
      expect(live.cursor).toBeGreaterThanOrEqual(offsets[1]!);
      expect(live.cursor).toBeGreaterThan(before);
      expect(live.builds.get("0000-live-test-2")).toBeDefined();
      // Served at once from the live model: and a prefix both ids share is ambiguous.
      const ambiguous = await code(server.client.getBuildRequest({ buildRequestId: "0000-live" }));
      expect(ambiguous.code).toBe(Code.InvalidArgument);
      expect(ambiguous.message).toContain("is ambiguous: 0000-live-test-1, 0000-live-test-2");
    } finally {
      await other.close();
    }
  });
});

async function failedBuild() {
  const { buildRequests } = await server.client.listBuildRequests({
    statuses: [BuildRequestStatus.BUILD_REQUEST_FAILED],
  });
  return buildRequests[0]!;
}
