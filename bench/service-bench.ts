/**
 * The service against SPEC 4's service targets, in-process (startService on
 * an SQLite log, the generated Connect client over HTTP/1.1 on loopback):
 *
 *  1. RequestBuild → first job started on an idle service: from the call to
 *     the job's taskLaunchSuccess (its process started), median of --runs;
 *     and the RPC's own round trip. A command job (`true`) with a bash config.
 *  2. GetPartitions of 1,000 refs on a catalog of --catalog partitions
 *     (default 1,000,000; made by appending one manifest per partition
 *     directly: no job built them): median and p95 of --runs calls of the
 *     same refs, the first call alone, and the client's share (decoding).
 *  3. GetPartitions requests/s from 50 concurrent clients (each a loop of
 *     calls of --refs refs, for --seconds).
 *  4. 100 clients requesting overlapping partitions at once (each 3 of 30
 *     refs of a two-job chain): time until all 100 ended, and whether each
 *     partition was built once.
 *
 * Step 1 also reports when the build had planned (its EXECUTING status:
 * the config process ran) to say where the time goes. `--clients 0` skips
 * step 4.
 *
 *   npx tsx bench/service-bench.ts [--catalog 1000000] [--runs 30] [--seconds 5] [--refs 10] [--clients 100]
 */
import { mkdtempSync, writeFileSync, chmodSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  BuildEventSchema,
  BuildRequestStatus,
  DatabuildService,
  GetPartitionsResponseSchema,
} from "../src/gen/databuild_pb.ts";
import { eventPayload } from "../src/core/build-event.ts";
import { newId } from "../src/core/ids.ts";
import { openSqliteEventLog } from "../src/event-log/index.ts";
import { loadGraph } from "../src/loader/load-graph.ts";
import { serviceLogger, startService } from "../src/service/index.ts";
import { createToken } from "../src/tokens/index.ts";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const CATALOG = flag("catalog", 1_000_000);
const RUNS = flag("runs", 30);
const SECONDS = flag("seconds", 5);
const REFS = flag("refs", 10);
const CLIENTS = flag("clients", 100);

const quiet = new Writable({ write: (_c, _e, done) => done() });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;

function project(): { dir: string; graphFile: string } {
  const dir = mkdtempSync(join(tmpdir(), "service-bench-"));
  mkdirSync(join(dir, "jobs"));
  writeFileSync(
    join(dir, "jobs", "config.sh"),
    readFileSync(new URL("../src/service/fixtures/config.sh", import.meta.url), "utf8"),
  );
  chmodSync(join(dir, "jobs", "config.sh"), 0o755);
  const job = (label: string, inputs = "") =>
    `  - label: ${label}\n    outputs: ["${label}/{x}"]\n    config: ["env", "INPUTS=${inputs}", "jobs/config.sh"]\n    exec: ["true"]\n`;
  writeFileSync(join(dir, "databuild.yaml"), `name: bench\njobs:\n${job("a")}${job("b", "a/{x}")}${job("big")}`);
  return { dir, graphFile: join(dir, "databuild.yaml") };
}

async function main(): Promise<void> {
  const { dir, graphFile } = project();
  const log = await openSqliteEventLog(join(dir, "log.db"), { pollIntervalMs: 20 });
  const { token } = await createToken(log, { name: "bench", scopes: ["build"], createdBy: "bench" });

  // The catalog: manifests appended directly (no job built them), 1,000 outputs each.
  const t0 = performance.now();
  for (let start = 0; start < CATALOG; start += 10_000) {
    const events = [];
    for (let i = start; i < Math.min(CATALOG, start + 10_000); i++) {
      const buildRequestId = newId();
      events.push(
        create(BuildEventSchema, {
          eventId: newId(),
          buildRequestId,
          jobRunId: newId(),
          timestamp: { seconds: BigInt(Math.floor(Date.now() / 1000)), nanos: 0 },
          event: eventPayload("partitionManifest", {
            outputs: [{ str: `big/${i}` }],
            buildRequestId,
            jobVersion: "0.0.0",
          }),
        }),
      );
    }
    await log.append(events);
  }
  process.stderr.write(
    `catalog of ${CATALOG} partitions appended in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );

  const t1 = performance.now();
  const service = await startService({
    graph: await loadGraph(graphFile),
    graphFile,
    log,
    logger: serviceLogger({ destination: quiet }),
    maxConcurrentBuilds: 8,
    build: { parallel: 4 },
  });
  process.stderr.write(`service started (live log loaded) in ${((performance.now() - t1) / 1000).toFixed(1)} s\n`);
  const client = createClient(
    DatabuildService,
    createConnectTransport({
      baseUrl: service.url,
      httpVersion: "1.1",
      useBinaryFormat: true,
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${token}`);
          return next(req);
        },
      ],
    }),
  );

  // 1. RequestBuild → first job started.
  const toLaunch: number[] = [];
  const toPlanned: number[] = [];
  const rpc: number[] = [];
  const msOf = (e: { event: { timestamp?: { seconds: bigint; nanos: number } } }) =>
    Number(e.event.timestamp!.seconds) * 1000 + e.event.timestamp!.nanos / 1e6;
  for (let r = 0; r < RUNS; r++) {
    // Idle: the previous build's end (its snapshot) is over.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const before = performance.now();
    const { buildRequestId } = await client.requestBuild({ partitions: [{ str: `a/idle-${r}` }] });
    rpc.push(performance.now() - before);
    for (;;) {
      const launched = await log.read(0, { buildRequestId, kinds: ["taskLaunchSuccess"] });
      if (launched.length > 0) {
        toLaunch.push(msOf(launched[0]!) - started);
        const statuses = await log.read(0, { buildRequestId, kinds: ["buildRequestStatusChanged"] });
        const executing = statuses.find(
          (e) =>
            e.event.event.case === "buildRequestStatusChanged" &&
            e.event.event.value.status === BuildRequestStatus.BUILD_REQUEST_EXECUTING,
        );
        if (executing) toPlanned.push(msOf(executing) - started);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    for (;;) {
      const view = await client.getBuildRequest({ buildRequestId });
      if (view.status >= BuildRequestStatus.BUILD_REQUEST_COMPLETED) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  console.log(
    `RequestBuild → first job started (idle service): median ${ms(median(toLaunch))}, p95 ${ms(p95(toLaunch))} (target < 50 ms); the RPC itself: median ${ms(median(rpc))}; planned (EXECUTING): median ${ms(median(toPlanned))}`,
  );

  // 2. GetPartitions of 1,000 refs.
  const step = Math.max(1, Math.floor(CATALOG / 1000));
  const thousand = Array.from({ length: 1000 }, (_, i) => ({ str: `big/${(i * step) % CATALOG}` }));
  const got: number[] = [];
  const decoding: number[] = [];
  let first = 0;
  for (let r = 0; r < RUNS; r++) {
    const before = performance.now();
    const answer = await client.getPartitions({ partitions: thousand });
    got.push(performance.now() - before);
    if (r === 0) first = got[0]!;
    // The client's share: decoding the answer (the same bytes again).
    const bytes = toBinary(GetPartitionsResponseSchema, answer);
    const decodeStart = performance.now();
    fromBinary(GetPartitionsResponseSchema, bytes);
    decoding.push(performance.now() - decodeStart);
    if (answer.partitions.length !== 1000 || answer.partitions.some((p) => p.status === 0))
      throw new Error("GetPartitions did not find every partition");
  }
  console.log(
    `GetPartitions of 1,000 refs on a catalog of ${CATALOG.toLocaleString("en")}: median ${ms(median(got))}, p95 ${ms(p95(got))} (target < 20 ms); the first call ${ms(first)}; of which the client decoding the answer: median ${ms(median(decoding))}`,
  );

  // 3. Requests/s with 50 concurrent clients.
  let calls = 0;
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: 50 }, async (_, c) => {
      for (let k = 0; performance.now() < deadline; k++) {
        const partitions = Array.from({ length: REFS }, (_, i) => ({
          str: `big/${(c * 7919 + k * 104729 + i) % CATALOG}`,
        }));
        await client.getPartitions({ partitions });
        calls++;
      }
    }),
  );
  console.log(`GetPartitions of ${REFS} refs, 50 concurrent clients: ${Math.round(calls / SECONDS)} requests/s`);

  // 4. 100 clients, overlapping partitions.
  if (CLIENTS > 0) await overlapping(client, log);
  await service.shutdown(1_000);
  await log.close();
}

async function overlapping(
  client: ReturnType<typeof createClient<typeof DatabuildService>>,
  log: Awaited<ReturnType<typeof openSqliteEventLog>>,
): Promise<void> {
  const before = performance.now();
  const ids = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) =>
      client.requestBuild({ partitions: [0, 1, 2].map((k) => ({ str: `b/o${(i + k * 7) % 30}` })) }),
    ),
  );
  for (;;) {
    const views = await Promise.all(ids.map(({ buildRequestId }) => client.getBuildRequest({ buildRequestId })));
    if (views.every((v) => v.status >= BuildRequestStatus.BUILD_REQUEST_COMPLETED)) {
      const failed = views.filter((v) => v.status !== BuildRequestStatus.BUILD_REQUEST_COMPLETED).length;
      const manifests = await log.read(0, { kinds: ["partitionManifest"] });
      const counts = new Map<string, number>();
      for (const { event } of manifests)
        if (event.event.case === "partitionManifest")
          for (const o of event.event.value.outputs)
            if (!o.str.startsWith("big/")) counts.set(o.str, (counts.get(o.str) ?? 0) + 1);
      const twice = [...counts.entries()].filter(([ref, n]) => /^(a|b)\/o/.test(ref) && n > 1);
      console.log(
        `${CLIENTS} clients, overlapping partitions (60 partitions, 3 refs each): all ended in ${((performance.now() - before) / 1000).toFixed(1)} s, ${failed} not completed, partitions built more than once: ${twice.length}`,
      );
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

await main();
