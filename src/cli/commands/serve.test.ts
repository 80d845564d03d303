// `databuild serve` as a real process: curl speaks the Connect JSON
// protocol to it, a Python gRPC client (Debian's grpcio, stubs from protoc)
// requests a build and watches it finish, SIGTERM shuts it down gracefully,
// and serving off loopback without TLS is refused.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REPO_ROOT, runDatabuild, runProcess, tempDir } from "../../testing/run-cli.ts";
import { killCliProcesses, startCli, type CliProcess } from "../../testing/cli-process.ts";
import { countingProject, runsOf } from "../../service/service-testing.ts";

afterEach(() => killCliProcesses());

/** Starts `databuild serve` on a free port; resolves with its URL once it listens. */
async function serve(dir: string, ...flags: string[]): Promise<{ process: CliProcess; url: string }> {
  const process = startCli(["--graph", "databuild.yaml", "serve", "--port", "0", ...flags], { cwd: dir });
  const [, url] = await process.waitFor(/databuild serve: listening on (http:\/\/[0-9.]+:\d+)/);
  return { process, url: url! };
}

async function token(dir: string, name: string, scope: string): Promise<string> {
  const made = await runDatabuild(["--graph", "databuild.yaml", "token", "create", "--name", name, "--scope", scope], {
    cwd: dir,
  });
  expect(made.code, made.stderr).toBe(0);
  return made.stdout.trim();
}

function curl(args: string[]): string {
  const result = spawnSync("curl", ["-sS", ...args], { encoding: "utf8" });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

describe("databuild serve", () => {
  it("answers curl's Connect JSON RequestBuild, builds it, serves /healthz, and stops at SIGTERM with exit 0", async () => {
    const { dir } = countingProject();
    const builder = await token(dir, "curl-user", "build");
    const { process, url } = await serve(dir);
    expect(curl([`${url}/healthz`])).toBe("ok\n");
    const answer = curl([
      "-H",
      "Content-Type: application/json",
      "-H",
      `Authorization: Bearer ${builder}`,
      "-d",
      '{"partitions":[{"str":"sum/c1"}]}',
      `${url}/databuild.v1.DatabuildService/RequestBuild`,
    ]);
    const { buildRequestId } = JSON.parse(answer) as { buildRequestId: string };
    expect(buildRequestId).toMatch(/^[0-9a-f-]{36}$/);
    const get = () =>
      JSON.parse(
        curl([
          "-H",
          "Content-Type: application/json",
          "-H",
          `Authorization: Bearer ${builder}`,
          "-d",
          JSON.stringify({ buildRequestId }),
          `${url}/databuild.v1.DatabuildService/GetBuildRequest`,
        ]),
      ) as { status: string; requester: string };
    for (let i = 0; i < 200 && get().status !== "BUILD_REQUEST_COMPLETED"; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(get()).toMatchObject({ status: "BUILD_REQUEST_COMPLETED", requester: "curl-user" });
    expect(runsOf(dir, "sum/c1")).toBe(1);
    // The service's own log: JSON lines, one per request, with method, code and principal.
    await process.waitFor(/"event":"build_end"/);
    const lines = process
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({ event: "request", method: "RequestBuild", code: "ok", principal: "curl-user" }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ event: "build_end", buildRequestId, status: "completed" }));

    process.child.kill("SIGTERM");
    const result = await process.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/databuild serve: stopped/);
  });

  it("serves gRPC to a Python client that requests a build and watches it finish", async () => {
    const { dir } = countingProject();
    const builder = await token(dir, "py-user", "build");
    const stubs = join(tempDir(), "stubs");
    mkdirSync(stubs);
    const protoc = await runProcess(
      "protoc",
      [
        `-I${join(REPO_ROOT, "proto")}`,
        `--python_out=${stubs}`,
        `--grpc_python_out=${stubs}`,
        "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
        join(REPO_ROOT, "proto", "databuild.proto"),
      ],
      { cwd: stubs },
    );
    expect(protoc.code, protoc.stderr).toBe(0);
    writeFileSync(
      join(stubs, "client.py"),
      `import sys, grpc, databuild_pb2 as pb, databuild_pb2_grpc as rpc
target, token = sys.argv[1], sys.argv[2]
meta = [("authorization", "Bearer " + token)]
stub = rpc.DatabuildServiceStub(grpc.insecure_channel(target))
made = stub.RequestBuild(pb.RequestBuildRequest(partitions=[pb.PartitionRef(str="sum/py")]), metadata=meta)
final = None
for logged in stub.WatchEvents(pb.WatchEventsRequest(build_request_id=made.build_request_id), metadata=meta):
    if logged.event.WhichOneof("event") == "build_request_status_changed":
        final = pb.BuildRequestStatus.Name(logged.event.build_request_status_changed.status)
print(made.build_request_id, final)
try:
    stub.RequestBuild(pb.RequestBuildRequest(partitions=[pb.PartitionRef(str="sum/a b")]), metadata=meta)
except grpc.RpcError as e:
    print(e.code().name, e.details())
`,
    );
    const { url } = await serve(dir);
    const client = await runProcess("/usr/bin/python3", [join(stubs, "client.py"), new URL(url).host, builder], {
      cwd: stubs,
    });
    expect(client.code, client.stderr).toBe(0);
    const [first, second] = client.stdout.trim().split("\n");
    expect(first).toMatch(/^[0-9a-f-]{36} BUILD_REQUEST_COMPLETED$/);
    expect(second).toMatch(/^INVALID_ARGUMENT partitions\[0\]: malformed partition ref "sum\/a b"/);
    expect(runsOf(dir, "sum/py")).toBe(1);
  });

  it("refuses to serve off loopback without TLS, saying why (exit 2)", async () => {
    const { dir } = countingProject();
    const result = await runDatabuild(["--graph", "databuild.yaml", "serve", "--host", "0.0.0.0"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--host 0\.0\.0\.0 without TLS would send bearer tokens across the network/);
  });

  it("documents its flags in --help", async () => {
    const result = await runDatabuild(["serve", "--help"]);
    expect(result.code).toBe(0);
    for (const flag of ["--port", "--launcher", "--allow-anonymous-read", "--tls-cert", "--max-concurrent-builds"])
      expect(result.stdout).toContain(flag);
  });
});
