// The service in-process (startService) on a real SQLite log, through real
// clients over Connect, gRPC and gRPC-Web: every RPC, auth, malformed
// requests, cancels (of service builds and of a CLI build), metrics.
import { writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { BuildRequestStatus, PartitionStatus, TokenScope } from "../gen/databuild_pb.ts";
import type { EventLog } from "../core/event-log.ts";
import { openSqliteEventLog } from "../event-log/index.ts";
import { loadGraph } from "../loader/load-graph.ts";
import { killCliProcesses, startCli } from "../testing/cli-process.ts";
import { revokeToken } from "../tokens/index.ts";
import { serviceLogger, startService, type Service } from "./index.ts";
import {
  countingProject,
  eventually,
  quietStream,
  runsOf,
  serviceClient,
  testTokens,
  waitForEnd,
  type Protocol,
} from "./service-testing.ts";

let project: { dir: string; graphFile: string };
let db: string;
let log: EventLog;
let service: Service;
let tokens: { read: string; build: string; admin: string };

beforeAll(async () => {
  project = countingProject();
  db = join(project.dir, "log.db");
  log = await openSqliteEventLog(db, { pollIntervalMs: 20 });
  tokens = await testTokens(log);
  service = await startService({
    graph: await loadGraph(project.graphFile),
    graphFile: project.graphFile,
    log,
    logger: serviceLogger({ destination: quietStream() }),
    maxBodyBytes: 64 * 1024,
    build: { parallel: 4, heartbeatMs: 200, heartbeatTimeoutMs: 3_000 },
  });
});

afterAll(async () => {
  killCliProcesses();
  writeFileSync(join(project.dir, "open"), "");
  await service?.shutdown(2_000);
  await log?.close();
});

/** The code a call was refused with. */
async function refusal(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await call;
  } catch (error) {
    const e = ConnectError.from(error);
    return { code: e.code, message: e.rawMessage };
  }
  throw new Error("the call was not refused");
}

describe.each<Protocol>(["connect", "grpc", "grpc-web"])("every RPC over %s", (protocol) => {
  it("builds, reads, watches, invalidates and administers", async () => {
    const c = serviceClient(service.url, tokens.admin, protocol);
    const x = `rpc-${protocol}`;
    const { buildRequestId, existing } = await c.requestBuild({ partitions: [{ str: `sum/${x}` }] });
    expect(existing).toBe(false);
    const ended = await waitForEnd(c, buildRequestId);
    expect(BuildRequestStatus[ended.status]).toBe("BUILD_REQUEST_COMPLETED");
    expect(ended.requester).toBe("root");
    expect(ended.origin).toBe("service");

    const got = await c.getPartitions({
      partitions: [{ str: `sum/${x}` }, { str: `part/${x}` }, { str: "part/never" }],
    });
    expect(got.partitions.map((p) => PartitionStatus[p.status])).toEqual([
      "PARTITION_AVAILABLE",
      "PARTITION_AVAILABLE",
      "PARTITION_STATUS_UNSPECIFIED",
    ]);
    const listed = await c.listPartitions({ prefix: `sum/${x}` });
    expect(listed.partitions.map((p) => p.partitionRef?.str)).toEqual([`sum/${x}`]);
    const explained = await c.explainPartition({ partition: { str: `sum/${x}` } });
    expect(explained.partitionRef?.str).toBe(`sum/${x}`);
    expect((await c.getBuildRequest({ buildRequestId })).buildRequestId).toBe(buildRequestId);
    const page = await c.listBuildRequests({ pageSize: 1000 });
    expect(page.buildRequests.map((b) => b.buildRequestId)).toContain(buildRequestId);

    const kinds: string[] = [];
    for await (const logged of c.watchEvents({ buildRequestId, afterOffset: 0n }))
      kinds.push(logged.event?.event.case ?? "");
    expect(kinds[0]).toBe("buildRequestReceived");
    expect(kinds).toContain("partitionManifest");

    const runs = await c.listJobRuns({ buildRequestId });
    expect(runs.jobRuns).toHaveLength(2);
    const run = await c.getJobRun({ jobRunId: runs.jobRuns[0]!.jobRunId });
    expect(run.buildRequestId).toBe(buildRequestId);
    const lines: string[] = [];
    for await (const part of c.getJobRunLogs({ jobRunId: run.jobRunId }))
      lines.push(...part.entries.map((e) => e.line));
    expect(lines.join("\n")).toMatch(/built (part|sum)\//);

    const graph = await c.getGraph({});
    expect(graph.graph?.jobs.map((j) => j.label?.label)).toEqual(expect.arrayContaining(["part", "held", "sum"]));
    expect((await c.listTriggers({})).triggers).toEqual([]);
    expect((await refusal(c.pauseTrigger({ trigger: "nightly" }))).code).toBe(Code.NotFound);
    expect((await refusal(c.resumeTrigger({ trigger: "nightly" }))).code).toBe(Code.NotFound);

    const invalidated = await c.invalidate({ partitions: [{ str: `part/${x}` }], reason: "test" });
    expect(invalidated.invalidated.map((r) => r.str)).toEqual([`part/${x}`]);
    const after = await c.getPartitions({ partitions: [{ str: `part/${x}` }] });
    expect(PartitionStatus[after.partitions[0]!.status]).toBe("PARTITION_INVALIDATED");

    const made = await c.createToken({ name: `ci-${protocol}`, scopes: [TokenScope.READ] });
    expect(made.token).not.toBe("");
    expect(made.view?.createdBy).toBe("root");
    expect((await c.listTokens({})).tokens.map((t) => t.name)).toContain(`ci-${protocol}`);
    expect((await c.revokeToken({ name: `ci-${protocol}` })).revoked).toBe(true);
    expect((await refusal(c.revokeToken({ name: "nobody" }))).code).toBe(Code.NotFound);

    const late = await refusal(c.cancelBuildRequest({ buildRequestId }));
    expect(late.code).toBe(Code.FailedPrecondition);
    expect(late.message).toMatch(/has ended \(COMPLETED\)/);
    expect((await refusal(c.cancelBuildRequest({ buildRequestId: "no-such-build" }))).code).toBe(Code.NotFound);
    // Each partition was built once, by its own job's count.
    expect(runsOf(project.dir, `sum/${x}`)).toBe(1);
    expect(runsOf(project.dir, `part/${x}`)).toBe(1);
  });
});

describe("RequestBuild", () => {
  it("with a want_key returns the same build request again, existing", async () => {
    const c = serviceClient(service.url, tokens.build);
    const first = await c.requestBuild({ partitions: [{ str: "part/wk" }], wantKey: "wk-1" });
    const again = await c.requestBuild({ partitions: [{ str: "part/wk" }], wantKey: "wk-1" });
    expect(again).toMatchObject({ buildRequestId: first.buildRequestId, existing: true });
    expect((await waitForEnd(c, first.buildRequestId)).wantKey).toBe("wk-1");
    expect(runsOf(project.dir, "part/wk")).toBe(1);
  });

  it("refuses malformed and unknown refs, naming them and their index, writing nothing", async () => {
    const c = serviceClient(service.url, tokens.build);
    const head = await log.head();
    const bad = await refusal(c.requestBuild({ partitions: [{ str: "part/ok" }, { str: "part/a b" }] }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.message).toMatch(/partitions\[1\]: malformed partition ref "part\/a b"/);
    const unknown = await refusal(c.requestBuild({ partitions: [{ str: "nope/1" }] }));
    expect(unknown.code).toBe(Code.InvalidArgument);
    expect(unknown.message).toMatch(/nope\/1/);
    expect((await refusal(c.requestBuild({ partitions: [] }))).code).toBe(Code.InvalidArgument);
    expect(await log.head()).toBe(head);
  });
});

describe("auth", () => {
  it("refuses no token, a wrong token, a read token on a write and a revoked token, writing nothing", async () => {
    const { token: doomed } = await (
      await import("../tokens/index.ts")
    ).createToken(log, {
      name: "doomed",
      scopes: ["build"],
      createdBy: "test",
    });
    await revokeToken(log, "doomed", "test");
    await service.live.caughtUpTo(await log.head());
    const head = await log.head();
    const write = { partitions: [{ str: "part/auth" }] };
    const cases: [string | undefined, Code, RegExp][] = [
      [undefined, Code.Unauthenticated, /needs a token with the build scope/],
      ["db_not-a-token", Code.Unauthenticated, /unknown or revoked/],
      [tokens.read, Code.PermissionDenied, /this call needs build/],
      [doomed, Code.Unauthenticated, /unknown or revoked/],
    ];
    for (const [token, code, message] of cases) {
      for (const protocol of ["connect", "grpc"] as const) {
        const c = serviceClient(service.url, token, protocol);
        const refused = await refusal(c.requestBuild(write));
        expect(refused.code, `${protocol} ${token}`).toBe(code);
        expect(refused.message).toMatch(message);
        expect((await refusal(c.invalidate(write))).code).toBe(code);
      }
    }
    // Admin RPCs need admin; reads need read (no --allow-anonymous-read here).
    expect((await refusal(serviceClient(service.url, tokens.build).listTokens({}))).code).toBe(Code.PermissionDenied);
    expect((await refusal(serviceClient(service.url).getGraph({}))).code).toBe(Code.Unauthenticated);
    expect((await serviceClient(service.url, tokens.read).getGraph({})).graph?.label).toBe("service_test");
    expect(await log.head()).toBe(head);
  });
});

/** A raw HTTP/1.1 POST to the service: status and body. */
function post(
  path: string,
  body: Buffer | string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, service.url);
    const req = http.request(url, { method: "POST", headers }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("malformed requests", () => {
  const rpc = "/databuild.v1.DatabuildService/RequestBuild";
  const auth = () => ({ authorization: `Bearer ${tokens.build}` });

  it("are refused with clear codes, write nothing, and the service keeps serving", async () => {
    const head = await log.head();
    const json = { "content-type": "application/json", ...auth() };
    const unknownField = await post(rpc, JSON.stringify({ partitions: [{ str: "part/u" }], colour: "red" }), json);
    expect(unknownField.status).toBe(400);
    expect(JSON.parse(unknownField.body)).toMatchObject({ code: "invalid_argument" });
    expect(unknownField.body).toMatch(/colour/);
    const garbage = await post(rpc, Buffer.from([0xff, 0xff, 0xff, 0x07, 0x01]), {
      "content-type": "application/proto",
      ...auth(),
    });
    expect(JSON.parse(garbage.body)).toMatchObject({ code: "invalid_argument" });
    const notJson = await post(rpc, "{partitions:", json);
    expect(JSON.parse(notJson.body)).toMatchObject({ code: "invalid_argument" });
    const huge = await post(rpc, JSON.stringify({ partitions: [{ str: "x".repeat(100_000) }] }), json);
    expect(JSON.parse(huge.body)).toMatchObject({ code: "resource_exhausted" });
    const grpcHuge = await refusal(
      serviceClient(service.url, tokens.build, "grpc").requestBuild({ partitions: [{ str: "p".repeat(100_000) }] }),
    );
    expect(grpcHuge.code).toBe(Code.ResourceExhausted);

    // A stream opened and abandoned: the service goes on serving.
    const abandoned = http.request(new URL("/databuild.v1.DatabuildService/WatchEvents", service.url), {
      method: "POST",
      headers: { "content-type": "application/connect+json", authorization: `Bearer ${tokens.read}` },
    });
    abandoned.on("error", () => {});
    abandoned.write(Buffer.from([0, 0, 0, 0, 2]));
    abandoned.write("{}");
    await new Promise((resolve) => setTimeout(resolve, 200));
    abandoned.destroy();
    expect(await log.head()).toBe(head);
    const health = await fetch(new URL("/healthz", service.url));
    expect(health.status).toBe(200);
    expect((await serviceClient(service.url, tokens.read).getGraph({})).graph?.label).toBe("service_test");
  });
});

describe("CancelBuildRequest", () => {
  it("cancels a running service build as Ctrl-C would", async () => {
    const c = serviceClient(service.url, tokens.build);
    const { buildRequestId } = await c.requestBuild({ partitions: [{ str: "held/svc" }] });
    await eventually(() => (runsOf(project.dir, "held/svc") > 0 ? true : undefined));
    const answer = await c.cancelBuildRequest({ buildRequestId });
    expect(answer.buildRequest?.buildRequestId).toBe(buildRequestId);
    const ended = await waitForEnd(c, buildRequestId);
    expect(BuildRequestStatus[ended.status]).toBe("BUILD_REQUEST_CANCELLED");
    expect(ended.message).toMatch(/cancelled by builder/);
  });

  it("cancels a CLI build (databuild build) through the API", async () => {
    const build = startCli(["--graph", project.graphFile, "--db", db, "build", "held/cli"], { cwd: project.dir });
    const c = serviceClient(service.url, tokens.build);
    const id = await eventually(async () => {
      const page = await c.listBuildRequests({});
      return page.buildRequests.find((b) => b.requestedPartitions.some((p) => p.str === "held/cli"))?.buildRequestId;
    });
    await eventually(() => (runsOf(project.dir, "held/cli") > 0 ? true : undefined));
    await c.cancelBuildRequest({ buildRequestId: id });
    const result = await build.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cancel/);
    const ended = await waitForEnd(c, id);
    expect(BuildRequestStatus[ended.status]).toBe("BUILD_REQUEST_CANCELLED");
    expect(ended.origin).toBe("");
  });
});

describe("/metrics", () => {
  it("reports builds by status, job runs by outcome, the queue and requests by method and code", async () => {
    const text = await (await fetch(new URL("/metrics", service.url))).text();
    expect(text).toMatch(/databuild_build_requests\{status="completed"\} [1-9]/);
    expect(text).toMatch(/databuild_job_runs_total\{outcome="succeeded"\} [1-9]/);
    expect(text).toMatch(/databuild_build_queue_depth 0/);
    expect(text).toMatch(/databuild_builds_running \d/);
    expect(text).toMatch(/databuild_rpc_requests_total\{method="RequestBuild",code="unauthenticated"\} [1-9]/);
    expect(text).toMatch(/databuild_rpc_requests_total\{method="RequestBuild",code="resource_exhausted"\} [1-9]/);
  });
});
