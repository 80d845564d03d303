// Replicas of `databuild serve` (real processes) on one PostgreSQL log:
// 100 concurrent clients requesting overlapping partitions through both
// build each partition once; kill -9 of a replica mid-build: the other
// adopts its build request and finishes it; a want_key is one build request
// across replicas; a schedule ticking every second while the replicas
// restart makes exactly one build request per tick.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BuildRequestStatus, TriggerOutcome } from "../gen/databuild_pb.ts";
import type { EventLog } from "../core/event-log.ts";
import { openPostgresEventLog } from "../event-log/index.ts";
import { freshDatabase, type FreshDatabase } from "../testing/fresh-database.ts";
import { killCliProcesses, startCli, type CliProcess } from "../testing/cli-process.ts";
import { createToken } from "../tokens/index.ts";
import { countingProject, eventually, runsOf, serviceClient, waitForEnd } from "./service-testing.ts";

let database: FreshDatabase;
let log: EventLog;
let project: { dir: string; graphFile: string };
let token: string;

// Each test has a log of its own: replicas killed by one test are not adopted in the next.
beforeEach(async () => {
  database = await freshDatabase();
  log = await openPostgresEventLog(database.url, { pollIntervalMs: 50 });
  project = countingProject();
  token = (await createToken(log, { name: "replica-test", scopes: ["build"], createdBy: "test" })).token;
});

afterEach(async () => {
  killCliProcesses();
  writeFileSync(join(project.dir, "open"), "");
  await log?.close();
  await database?.drop();
});

/** A replica on the test's PostgreSQL log, once it listens. */
async function replica(
  name: string,
  graphFile = project.graphFile,
  extra: readonly string[] = [],
): Promise<{ process: CliProcess; url: string }> {
  const process = startCli(
    [
      "--graph",
      graphFile,
      "--db",
      database.url,
      "serve",
      "--port",
      "0",
      "--replica-id",
      name,
      "--heartbeat",
      "0.2",
      "--heartbeat-timeout",
      "10",
      "--max-concurrent-builds",
      "2",
      "--log-level",
      "warn",
      ...extra,
    ],
    { cwd: project.dir },
  );
  const [, url] = await process.waitFor(/listening on (http:\/\/[0-9.]+:\d+)/, 30_000);
  return { process, url: url! };
}

/** Every event of `kind` in the log. */
async function eventsOf(kind: "partitionManifest" | "triggerTick" | "buildRequestReceived" | "buildRequestAdopted") {
  return log.read(0, { kinds: [kind] });
}

describe("two replicas on one PostgreSQL log", () => {
  it(
    "build each partition once for 100 concurrent clients asking for overlapping partitions through both",
    { timeout: 150_000 },
    async () => {
      const [a, b] = await Promise.all([replica("a"), replica("b")]);
      const clients = [serviceClient(a.url, token), serviceClient(b.url, token, "grpc")];
      const ids = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          clients[i % 2]!.requestBuild({
            partitions: [{ str: `sum/o${i % 6}` }, { str: `part/o${(i + 1) % 6}` }],
          }),
        ),
      );
      // One poll a second for all of them: 100 clients polling fast would load the 2 cores more than the builds do.
      await eventually(
        async () => {
          const views = await Promise.all(
            ids.map(({ buildRequestId }) => clients[0]!.getBuildRequest({ buildRequestId })),
          );
          return views.every((v) => v.status >= BuildRequestStatus.BUILD_REQUEST_COMPLETED) ? true : undefined;
        },
        140_000,
        1_000,
      );
      const ended = await Promise.all(ids.map(({ buildRequestId }, i) => waitForEnd(clients[i % 2]!, buildRequestId)));
      expect(ended.map((e) => BuildRequestStatus[e.status])).toEqual(Array(100).fill("BUILD_REQUEST_COMPLETED"));
      const manifests = new Map<string, number>();
      for (const { event } of await eventsOf("partitionManifest"))
        if (event.event.case === "partitionManifest")
          for (const output of event.event.value.outputs)
            manifests.set(output.str, (manifests.get(output.str) ?? 0) + 1);
      for (let k = 0; k < 6; k++) {
        for (const ref of [`sum/o${k}`, `part/o${k}`]) {
          expect(manifests.get(ref), ref).toBe(1);
          expect(runsOf(project.dir, ref), ref).toBe(1);
        }
      }
    },
  );

  it("continue a build request after kill -9 of the replica running it, and keep a want_key one build request", async () => {
    const [a, b] = await Promise.all([replica("a2"), replica("b2")]);
    const ca = serviceClient(a.url, token);
    const cb = serviceClient(b.url, token);
    // Both replicas race on one key: one build request.
    const keyed = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        [ca, cb][i % 2]!.requestBuild({ partitions: [{ str: "part/wk" }], wantKey: "nightly-1" }),
      ),
    );
    expect(new Set(keyed.map((k) => k.buildRequestId)).size).toBe(1);
    expect(keyed.filter((k) => !k.existing)).toHaveLength(1);
    // It ends before the kill: otherwise a loaded machine leaves it running on a, and b adopts it too.
    expect(BuildRequestStatus[(await waitForEnd(cb, keyed[0]!.buildRequestId, 30_000)).status]).toBe(
      "BUILD_REQUEST_COMPLETED",
    );

    const { buildRequestId } = await ca.requestBuild({ partitions: [{ str: "held/k9" }] });
    await eventually(() => (runsOf(project.dir, "held/k9") > 0 ? true : undefined));
    a.process.child.kill("SIGKILL");
    await a.process.done;
    // b notices a's process is gone, declares the build request lost and continues it.
    const lost = await eventually(async () => {
      const view = await cb.getBuildRequest({ buildRequestId });
      return view.continuedBy ? view : undefined;
    }, 30_000);
    expect(BuildRequestStatus[lost.status]).toBe("BUILD_REQUEST_LOST");
    writeFileSync(join(project.dir, "open"), "");
    const successor = await waitForEnd(cb, lost.continuedBy, 30_000);
    expect(BuildRequestStatus[successor.status]).toBe("BUILD_REQUEST_COMPLETED");
    expect(successor).toMatchObject({
      continuesBuildRequestId: buildRequestId,
      requester: "replica-test",
      origin: "service",
    });
    const adoptions = (await eventsOf("buildRequestAdopted")).flatMap(({ event }) =>
      event.event.case === "buildRequestAdopted" ? [event.event.value.lostBuildRequestId] : [],
    );
    expect(adoptions).toEqual([buildRequestId]);
    expect((await cb.getPartitions({ partitions: [{ str: "held/k9" }] })).partitions[0]!.buildRequestId).toBe(
      successor.buildRequestId,
    );
  });

  it("keep a --server build watching across kill -9 and restart of its replica: it resumes and follows the successor to its end", async () => {
    const a = await replica("ra");
    await replica("rb");
    const port = new URL(a.url).port;
    const client = startCli(["--server", a.url, "--token", token, "build", "held/rs"], { cwd: project.dir });
    await eventually(() => (runsOf(project.dir, "held/rs") > 0 ? true : undefined));
    a.process.child.kill("SIGKILL");
    await a.process.done;
    // rb declares the build request lost (its process is gone) and continues it; ra comes back on its port.
    const again = await replica("ra", project.graphFile, ["--port", port]);
    expect(again.url).toBe(a.url);
    writeFileSync(join(project.dir, "open"), "");
    const done = await client.done;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toContain(`lost the stream from ${a.url}`);
    expect(done.stderr).toMatch(/was lost with its replica; build request \S+ continues it/);
    expect(done.stderr).toMatch(/Build completed: built 1 partition in 1 job/);
    expect(await eventsOf("buildRequestAdopted")).toHaveLength(1);
  });

  it("hand a running build over at SIGTERM: healthz 503, exit 0, the other replica continues it", async () => {
    const [a, b] = await Promise.all([replica("sa", project.graphFile, ["--shutdown-grace", "1"]), replica("sb")]);
    const ca = serviceClient(a.url, token);
    const cb = serviceClient(b.url, token);
    const { buildRequestId } = await ca.requestBuild({ partitions: [{ str: "held/term" }] });
    await eventually(() => (runsOf(project.dir, "held/term") > 0 ? true : undefined));
    a.process.child.kill("SIGTERM");
    const draining = await eventually(
      async () => {
        const health = await fetch(new URL("/healthz", a.url)).catch(() => undefined);
        return health?.status === 503 ? health.status : undefined;
      },
      5_000,
      20,
    );
    expect(draining).toBe(503);
    expect((await a.process.done).code).toBe(0);
    const lost = await cb.getBuildRequest({ buildRequestId });
    expect(BuildRequestStatus[lost.status]).toBe("BUILD_REQUEST_LOST");
    writeFileSync(join(project.dir, "open"), "");
    const successor = await waitForEnd(cb, buildRequestId, 30_000);
    expect(successor.continuesBuildRequestId).toBe(buildRequestId);
    expect(BuildRequestStatus[successor.status]).toBe("BUILD_REQUEST_COMPLETED");
    const events = await log.read(0, { buildRequestId, kinds: ["buildRequestLost"] });
    expect(events[0]?.event.event.case === "buildRequestLost" && events[0].event.event.value.reason).toBe(
      "replica shut down",
    );
  });

  it("make exactly one build request per tick of a schedule while the replicas restart", async () => {
    const ticking = countingProject(`triggers:
  - name: every_second
    cron: "* * * * * *"
    partitions: ["part/tick-{tick_date}"]
`).graphFile;
    let a = await replica("ta", ticking);
    const b = await replica("tb", ticking);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    a.process.child.kill("SIGTERM");
    expect((await a.process.done).code).toBe(0);
    a = await replica("ta", ticking);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    b.process.child.kill("SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    a.process.child.kill("SIGTERM");
    await a.process.done;
    const ticks = (await eventsOf("triggerTick")).flatMap(({ event }) =>
      event.event.case === "triggerTick" ? [{ ...event.event.value, buildRequestId: event.buildRequestId }] : [],
    );
    const keys = ticks.map((t) => t.tickKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBeGreaterThanOrEqual(4);
    const requested = ticks.filter((t) => t.outcome === TriggerOutcome.TRIGGER_REQUESTED);
    expect(requested.length).toBeGreaterThanOrEqual(1);
    const triggered = (await eventsOf("buildRequestReceived")).filter(
      ({ event }) =>
        event.event.case === "buildRequestReceived" &&
        event.event.value.origin === "trigger" &&
        event.event.value.continuesBuildRequestId === "",
    );
    expect(triggered.map((e) => e.event.buildRequestId).sort()).toEqual(requested.map((t) => t.buildRequestId).sort());
    expect(new Set(ticks.map((t) => t.evaluatedBy))).toEqual(new Set(["ta", "tb"]));
  });
});
