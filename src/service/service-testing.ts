/**
 * @module Test support for the service's tests: a manifest project whose
 * jobs count their runs in files (runs/<ref>), a service on its log with
 * tokens of each scope, and clients over each protocol.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { BuildRequestStatus, DatabuildService, type BuildRequestView } from "../gen/databuild_pb.ts";
import type { EventLog } from "../core/event-log.ts";
import { COUNTING_JOB_SH, manifestProject } from "../testing/manifest-project.ts";
import { createToken } from "../tokens/index.ts";

export type ServiceClient = Client<typeof DatabuildService>;
export type Protocol = "connect" | "grpc" | "grpc-web";

/**
 * A project with `part/{x}` (runs at once), `held/{x}` (waits until the file
 * `open` exists in the project) and `sum/{x}` (needs part/{x}), each
 * appending a line to runs/<ref> per run. `extra`: more manifest text.
 */
export function countingProject(extra = ""): { dir: string; graphFile: string } {
  const job = (label: string, exec: string[], inputs = "") =>
    `  - label: ${label}\n    outputs: ["${label}/{x}"]\n    config: ["env", "INPUTS=${inputs}", "jobs/config.sh"]\n    exec: ${JSON.stringify(exec)}\n`;
  const dir = manifestProject({
    "databuild.yaml": `name: service_test\njobs:\n${job("part", ["jobs/count.sh"])}${job("held", [
      "env",
      "GATE=open",
      "jobs/count.sh",
    ])}${job("sum", ["jobs/count.sh"], "part/{x}")}${extra}`,
    "jobs/count.sh": COUNTING_JOB_SH,
    "jobs/config.sh": CONFIG_SH,
  });
  return { dir, graphFile: join(dir, "databuild.yaml") };
}

/** The jobs' config (fixtures/config.sh: bash, not Python, whose start would dominate these tests). */
const CONFIG_SH = readFileSync(new URL("./fixtures/config.sh", import.meta.url), "utf8");

/** How many times the job ran for `ref`, by its own output file. */
export function runsOf(dir: string, ref: string): number {
  const file = join(dir, "runs", ref);
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).length : 0;
}

export async function testTokens(log: EventLog): Promise<{ read: string; build: string; admin: string }> {
  const make = async (name: string, scope: "read" | "build" | "admin") =>
    (await createToken(log, { name, scopes: [scope], createdBy: "test" })).token;
  return {
    read: await make("reader", "read"),
    build: await make("builder", "build"),
    admin: await make("root", "admin"),
  };
}

export function bearer(token: string | undefined): Interceptor {
  return (next) => (req) => {
    if (token !== undefined) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}

export function serviceClient(url: string, token?: string, protocol: Protocol = "connect"): ServiceClient {
  const interceptors = [bearer(token)];
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl: url, interceptors })
      : protocol === "grpc-web"
        ? createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1", interceptors })
        : createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors });
  return createClient(DatabuildService, transport);
}

const FINAL = new Set([
  BuildRequestStatus.BUILD_REQUEST_COMPLETED,
  BuildRequestStatus.BUILD_REQUEST_FAILED,
  BuildRequestStatus.BUILD_REQUEST_CANCELLED,
  BuildRequestStatus.BUILD_REQUEST_LOST,
]);

/**
 * Polls GetBuildRequest until the build request has ended; one lost and
 * continued by another replica ends when its successor does.
 */
export async function waitForEnd(client: ServiceClient, id: string, timeoutMs = 30_000): Promise<BuildRequestView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await client.getBuildRequest({ buildRequestId: id });
    if (view.continuedBy) return waitForEnd(client, view.continuedBy, Math.max(1, deadline - Date.now()));
    if (FINAL.has(view.status) && view.status !== BuildRequestStatus.BUILD_REQUEST_LOST) return view;
    if (view.status === BuildRequestStatus.BUILD_REQUEST_LOST && Date.now() > deadline) return view;
    if (Date.now() > deadline)
      throw new Error(`build request ${id} did not end in ${timeoutMs} ms: ${BuildRequestStatus[view.status]}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resolves once `check` returns a value (not undefined), polling. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A stream that drops what is written (a quiet service log). */
export function quietStream(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}
