// The CLI as a client: `--server URL` makes status, explain, events, builds
// and logs print what they print reading the log themselves; build and
// invalidate go through the service; refusals and an unreachable service
// get clear messages and the documented exit codes. A real service
// (startService) on a real SQLite log left by real builds.
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { join, relative } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventPayload } from "../../core/build-event.ts";
import type { EventLog } from "../../core/event-log.ts";
import { newId } from "../../core/ids.ts";
import { newEvent } from "../../core/new-event.ts";
import { openSqliteEventLog } from "../../event-log/index.ts";
import { loadGraph } from "../../loader/load-graph.ts";
import { serviceLogger, startService, type Service } from "../../service/index.ts";
import { COUNTING_JOB_SH, manifestJob, manifestProject } from "../../testing/manifest-project.ts";
import { explanationSummary } from "../format/explanation.ts";
import { runCliCaptured as cli } from "../run-cli-captured.ts";

const FAIL_SH = `#!/usr/bin/env bash\necho "about to fail $1"\necho "no space left" >&2\nexit 3\n`;

let graphFile: string;
let db: string;
let log: EventLog;
let service: Service;
let buildToken: string;

/** Relative times and durations differ between two runs a moment apart: the rest must not. */
const steady = (text: string) =>
  text
    .replaceAll(`databuild --graph ${graphFileShown()}`, "<databuild>")
    .replaceAll(`databuild --server ${service.url}`, "<databuild>")
    .replace(/\b(just now|\d+ s ago)/g, "<ago>")
    .replace(/\(\d+(\.\d+)?m?s\)/g, "(<took>)")
    .replace(/took \d+(\.\d+)?m?s/g, "took <took>");

const graphFileShown = () => relative(process.cwd(), graphFile);
const local = (...args: string[]) => cli(["--graph", graphFile, ...args]);
const remote = (...args: string[]) => cli(["--server", service.url, ...args]);

beforeAll(async () => {
  const dir = manifestProject({
    "databuild.yaml":
      `name: remote\njobs:\n` +
      manifestJob("raw", "raw/{x}", ["jobs/run.sh"]) +
      manifestJob("clean", "clean/{x}", ["jobs/run.sh"], "raw/{x}") +
      manifestJob("bad", "bad/{x}", ["jobs/fail.sh"]),
    "jobs/run.sh": COUNTING_JOB_SH,
    "jobs/fail.sh": FAIL_SH,
  });
  graphFile = join(dir, "databuild.yaml");
  db = join(dir, ".databuild", "databuild.db");
  expect((await local("build", "clean/1")).code).toBe(0);
  expect((await local("build", "bad/1")).code).toBe(1);
  const made = await cli(["--db", db, "token", "create", "--name", "ci", "--scope", "build"]);
  expect(made.code, made.stderr).toBe(0);
  buildToken = made.stdout.trim();
  log = await openSqliteEventLog(db, { pollIntervalMs: 20 });
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  service = await startService({
    graph: await loadGraph(graphFile),
    graphFile,
    log,
    allowAnonymousRead: true,
    summarize: explanationSummary,
    logger: serviceLogger({ destination: quiet }),
  });
}, 60_000);

afterAll(async () => {
  await service?.shutdown(1_000);
  await log?.close();
});

describe("databuild --server", () => {
  it("status, explain, events, builds and logs print what they print on the log itself", async () => {
    const runId = (await local("events", "--json")).stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { jobRunId?: string; taskFailed?: unknown })
      .find((e) => e.taskFailed)!.jobRunId!;
    const build = JSON.parse((await local("builds", "--json")).stdout.split("\n")[0]!).buildRequestId as string;
    const commands = [
      ["status", "clean/1", "bad/1", "never/1"],
      ["status", "--json", "clean/1", "raw/1", "never/1"],
      ["explain", "clean/1", "bad/1", "clean/5"],
      ["explain", "--json", "bad/1", "clean/5"],
      ["events"],
      ["events", "--json", "--build", build.slice(-8)],
      ["events", "--follow", "--build", build.slice(-8)],
      ["builds"],
      ["builds", "--json"],
      ["logs", runId.slice(-8)],
      ["logs", "--json", runId],
      ["logs", "--stream", "stderr", runId],
    ];
    // Only token events (and what the service recorded) could tell the two apart: none are between.
    for (const args of commands) {
      const [here, there] = [await local(...args), await remote(...args)];
      expect(here.code, `${args.join(" ")}: ${here.stderr}`).toBe(0);
      expect({ code: there.code, stdout: steady(there.stdout) }, args.join(" ")).toEqual({
        code: 0,
        stdout: steady(here.stdout),
      });
      expect(here.stdout.length, args.join(" ")).toBeGreaterThan(0);
    }
    const logs = await remote("logs", runId);
    expect(logs.stdout).toBe("about to fail bad/1\nno space left\n");
    expect(logs.stderr).toBe(`job run ${runId}: bad bad/1, failed (EXIT_JOB_FAILURE)\n`);
  }, 60_000);

  it("builds through the service, showing progress and the same summary, with the same exit codes", async () => {
    const ok = await remote("--token", buildToken, "build", "clean/2");
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain("ok     raw  raw/2");
    expect(ok.stderr).toContain("ok     clean  clean/2");
    expect(ok.stderr).toMatch(/Build completed: built 2 partitions in 2 jobs \(/);
    expect(ok.stderr).toMatch(/build request id: \S+ {3}\(.* events --build \S+\)/);
    expect((await remote("status", "--json", "clean/2")).stdout).toContain("PARTITION_AVAILABLE");

    const failed = await cli(["--server", service.url, "build", "bad/2"]);
    // No token: refused before anything is recorded.
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(`the service at ${service.url} needs a token`);
    const viaEnv = await cliEnv({ DATABUILD_SERVER: service.url, DATABUILD_TOKEN: buildToken }, ["build", "bad/2"]);
    expect(viaEnv.code).toBe(1);
    expect(viaEnv.stderr).toContain('Build failed: 1 job failed: "bad" (bad/2)');
    expect(viaEnv.stderr).toContain("    | no space left");
    expect(viaEnv.stderr).toMatch(/full log: .* logs \S+/);
  }, 60_000);

  it("invalidates through the service, --downstream too, printing what the local command prints", async () => {
    expect((await local("build", "clean/4", "clean/5")).code).toBe(0);
    const ids = (text: string) => text.replace(/\(invalidation \S+\)/, "(invalidation <id>)");
    const viaService = await remote("--token", buildToken, "invalidate", "--downstream", "raw/4");
    expect(viaService.code, viaService.stderr).toBe(0);
    const here = await local("invalidate", "--downstream", "raw/5");
    expect(here.code, here.stderr).toBe(0);
    expect(ids(steady(viaService.stdout))).toBe(ids(steady(here.stdout)).replaceAll("/5", "/4"));
    expect(viaService.stdout).toContain("clean/4  (built from raw/4)");
    const again = await remote("--token", buildToken, "invalidate", "raw/4");
    expect(again.stdout).toBe("nothing to invalidate\nalready invalidated: raw/4\n");
    expect((await remote("status", "--json", "clean/4")).stdout).toContain("PARTITION_INVALIDATED");
  }, 60_000);

  it("explains a partition whose holder is gone as the local command does", async () => {
    // A CLI build request that claimed raw/7 and whose process then died (kill -9): nobody has declared it lost yet.
    const dead = spawnSync("true").pid!;
    const scope = { buildRequestId: newId() };
    await log.append([
      newEvent(scope, eventPayload("buildRequestReceived", { hostname: hostname(), pid: dead, requester: "gone" })),
      newEvent(scope, eventPayload("partitionsClaimed", { partitions: [{ str: "raw/7" }] })),
    ]);
    const here = await local("explain", "raw/7");
    const there = await remote("explain", "raw/7");
    expect(here.stdout).toContain(`its holder is gone (its process ${dead} on ${hostname()} is gone)`);
    expect(steady(there.stdout)).toBe(steady(here.stdout));
    expect(steady((await remote("status", "raw/7")).stdout)).toBe(steady((await local("status", "raw/7")).stdout));
  });

  it("says what is wrong: a wrong token (2), an unreachable service (3), a bad ref (2), a dry run", async () => {
    const wrong = await remote("--token", "not-a-token", "build", "clean/3");
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("did not accept the token");
    const away = await cli(["--server", "http://127.0.0.1:1", "status", "clean/1"]);
    expect(away.code).toBe(3);
    expect(away.stderr).toContain("cannot reach the service at http://127.0.0.1:1");
    const unknown = await remote("events", "--build", "nope");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no build request with id "nope"');
    const dry = await remote("--token", buildToken, "build", "--dry-run", "clean/3");
    expect(dry.code).toBe(2);
    expect(dry.stderr).toContain("--dry-run cannot be used with --server");
    const notClient = await remote("triggers");
    expect(notClient.code).toBe(2);
    expect(notClient.stderr).toContain("databuild triggers does not talk to a service: --server works with build,");
    const notUrl = await cli(["--server", "localhost:8080", "builds"]);
    expect(notUrl.code).toBe(2);
    expect(notUrl.stderr).toContain("--server");
  });
});

async function cliEnv(env: Record<string, string>, argv: string[]) {
  const { runCli } = await import("../main.ts");
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd: process.cwd(),
  });
  return { code, stdout, stderr };
}
