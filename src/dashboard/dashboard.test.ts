// The dashboard end to end: headless Chromium (playwright-core, Debian's
// chromium) on a real service (startService) over a real SQLite log left by
// real builds, with the dashboard in front as `databuild serve` mounts it.
// Writes screenshots of the main pages to docs/screenshots/.
/// <reference lib="dom" />
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabuildService, PartitionStatus } from "../gen/databuild_pb.ts";
import type { EventLog } from "../core/event-log.ts";
import { openSqliteEventLog } from "../event-log/index.ts";
import { loadGraph } from "../loader/load-graph.ts";
import { serviceLogger, startService, type Service } from "../service/index.ts";
import { createToken } from "../tokens/index.ts";
import { launchChromium } from "../testing/chromium.ts";
import { COUNTING_JOB_SH, manifestJob, manifestProject } from "../testing/manifest-project.ts";
import { REPO_ROOT } from "../testing/run-cli.ts";
import { runCliCaptured as cli } from "../cli/run-cli-captured.ts";
import { explanationSummary } from "../cli/format/explanation.ts";
import { ensureDashboardBuilt } from "./testing/built-dashboard.ts";
import { startDashboardFront, type DashboardFront } from "./testing/dashboard-server.ts";
import { GRID_PATTERN, writeGrid } from "./testing/grid-fixture.ts";

const FAIL_SH = `#!/usr/bin/env bash\necho "about to fail $1"\necho "disk quota exceeded writing $1" >&2\nexit 3\n`;
const GRID_REGIONS = 10;
const GRID_DAYS = 10_000;
const SHOTS = join(REPO_ROOT, "docs", "screenshots");

let dir: string;
let log: EventLog;
let service: Service;
let front: DashboardFront;
let browser: Browser;
let page: Page;
let api: Client<typeof DatabuildService>;
let buildToken: string;
let adminToken: string;
let gridCounts: Map<PartitionStatus, number>;

const url = (path: string) => `${front.url}${path}`;
const partitionUrl = (ref: string) => url(`/partitions/${encodeURIComponent(ref)}`);

/** Polls a page for what it should show (pages update as answers and events arrive). */
function poll<T>(read: () => T | Promise<T>, options: { timeout?: number } = {}) {
  return expect.poll(read, { timeout: 10_000, interval: 100, ...options });
}

async function shot(name: string, target: Page = page): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  writeFileSync(join(SHOTS, `${name}.png`), await target.screenshot({ fullPage: true }));
}

beforeAll(async () => {
  const built = ensureDashboardBuilt();
  expect(existsSync(join(built, "index.html"))).toBe(true);
  dir = manifestProject({
    "databuild.yaml":
      `name: dashboard_test\njobs:\n` +
      manifestJob("raw", "raw/{x}", ["jobs/run.sh"]) +
      manifestJob("clean", "clean/{x}", ["jobs/run.sh"], "raw/{x}") +
      manifestJob("bad", "bad/{x}", ["jobs/fail.sh"]) +
      manifestJob("grid", GRID_PATTERN, ["jobs/run.sh"]) +
      `triggers:\n  - name: nightly_clean\n    cron: "0 3 * * *"\n    partitions: ["clean/{x}"]\n    params: { x: ["nightly"] }\n    catch_up: 0\n`,
    "jobs/run.sh": COUNTING_JOB_SH,
    "jobs/fail.sh": FAIL_SH,
  });
  const graphFile = join(dir, "databuild.yaml");
  const db = join(dir, ".databuild", "databuild.db");
  const built1 = await cli(["--graph", graphFile, "build", "clean/1", "clean/2"]);
  expect(built1.code, built1.stderr).toBe(0);
  expect((await cli(["--graph", graphFile, "build", "bad/1"])).code).toBe(1);
  log = await openSqliteEventLog(db, { pollIntervalMs: 20 });
  gridCounts = await writeGrid(log, GRID_REGIONS, GRID_DAYS);
  // Jobs the service runs wait for this file (the spawner takes the environment as the service starts).
  process.env.GATE = join(dir, "gate-live");
  buildToken = (await createToken(log, { name: "dashboard-tester", scopes: ["build"], createdBy: "test" })).token;
  adminToken = (await createToken(log, { name: "dashboard-admin", scopes: ["admin"], createdBy: "test" })).token;
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  service = await startService({
    graph: await loadGraph(graphFile),
    graphFile,
    log,
    allowAnonymousRead: true,
    summarize: explanationSummary,
    logger: serviceLogger({ destination: quiet }),
  });
  front = await startDashboardFront(service);
  api = createClient(DatabuildService, createConnectTransport({ baseUrl: front.url, httpVersion: "1.1" }));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await front?.close();
  await service?.shutdown(1_000);
  await log?.close();
});

describe("the dashboard", () => {
  it("lists every partition, each a link whose text is its ref; searches by prefix and pattern; filters by status", async () => {
    await page.goto(url("/partitions?search=clean%2F"));
    const list = page.locator(".partition-list");
    await poll(() => list.getByRole("link", { name: "clean/1", exact: true }).count()).toBe(1);
    expect(await list.getByRole("link", { name: "clean/2", exact: true }).count()).toBe(1);
    expect(await list.textContent()).toContain("2 partitions matching clean/");
    // Typing into the search box labelled "Search partitions" changes the URL (shareable, back works).
    await page.getByLabel("Search partitions").fill("raw/{x}");
    await page.getByLabel("Search partitions").press("Enter");
    await page.waitForURL(/search=raw%2F%7Bx%7D/);
    await poll(() => list.getByRole("link", { name: "raw/1", exact: true }).count()).toBe(1);
    expect(await list.textContent()).toContain("2 partitions matching raw/{x}");
    await shot("partitions");
    await page.goBack();
    await page.waitForURL(/search=clean%2F/);
    await poll(() => list.getByRole("link", { name: "clean/1", exact: true }).count()).toBe(1);
    // The failed partition, by status.
    await page.goto(url("/partitions?status=failed&search=bad%2F"));
    await poll(() => list.getByRole("link", { name: "bad/1", exact: true }).count()).toBe(1);
    expect(await page.getByRole("checkbox", { name: "failed" }).isChecked()).toBe(true);
  });

  it("explains a partition, shows its manifest, lineage up and down (clickable, back works) and history", async () => {
    await page.goto(partitionUrl("clean/1"));
    await poll(() => page.locator("h1").textContent()).toBe("clean/1");
    const main = page.locator("main");
    await poll(() => main.textContent(), { timeout: 10_000 }).toContain("Manifest");
    await poll(() => page.locator(".summary").first().textContent()).toMatch(/available|built/i);
    // The catalog is large (the grid's 100,000 partitions): the log scans wait to be asked for.
    await page.getByRole("button", { name: "Read its history" }).click();
    await poll(() => page.locator("table.history").count(), { timeout: 20_000 }).toBe(1);
    expect(await page.locator("table.history").textContent()).toContain("available");
    await shot("partition");
    // Upstream: raw/1, a link; following it, clean/1 is downstream of raw/1.
    await main.getByRole("link", { name: "raw/1", exact: true }).first().click();
    await page.waitForURL(/\/partitions\/raw%2F1$/);
    await poll(() => page.locator("h1").textContent()).toBe("raw/1");
    const downstream = page.locator(".panel", { has: page.getByRole("heading", { name: "Downstream" }) });
    await downstream.getByRole("button", { name: "Find partitions built from it" }).click();
    await poll(() => downstream.getByRole("link", { name: "clean/1", exact: true }).count(), { timeout: 10_000 }).toBe(
      1,
    );
    await page.goBack();
    await page.waitForURL(/\/partitions\/clean%2F1$/);
    await poll(() => page.locator("h1").textContent()).toBe("clean/1");
  });

  it("shows a failing job's stderr, highlighted, and its exit category", async () => {
    const runs = await api.listBuildRequests({});
    const failed = runs.buildRequests.find((b) => b.requestedPartitions.some((r) => r.str === "bad/1"))!;
    const jobRun = (await api.listJobRuns({ buildRequestId: failed.buildRequestId })).jobRuns[0]!;
    await page.goto(url(`/job-runs/${jobRun.jobRunId}`));
    const stderr = page.locator(".stderr-line");
    await poll(() => stderr.first().textContent(), { timeout: 10_000 }).toContain("disk quota exceeded writing bad/1");
    expect(await page.locator(".line:not(.stderr-line)").first().textContent()).toContain("about to fail bad/1");
    expect(await page.locator("main").textContent()).toContain("job failure (non-zero exit)");
    await poll(() => page.locator("table.events").textContent()).toContain("taskFailed");
    await shot("job-run-failed");
    // The build that ran it links here, and shows it failed.
    await page.goto(url(`/builds/${failed.buildRequestId}`));
    await poll(() => page.locator("h1").textContent()).toContain("failed");
  });

  it("shows a build requested through the API appear and progress live, without reloading", async () => {
    const gate = join(dir, "gate-live");
    await page.goto(url("/builds"));
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const requested = await api.requestBuild(
      { partitions: [{ str: "clean/7" }] },
      { headers: { authorization: `Bearer ${buildToken}` } },
    );
    const id = requested.buildRequestId;
    const row = page.locator(".build-row", { has: page.getByRole("link", { name: "clean/7", exact: true }) });
    await poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    await row.getByRole("link", { name: id.slice(-8) }).click();
    await page.waitForURL(new RegExp(`/builds/${id}$`));
    // raw/7 runs (held by the gate), clean/7 waits; then both succeed, on the same page.
    const rawNode = page.locator("g.node", { hasText: "raw/7" });
    await poll(() => rawNode.textContent(), { timeout: 15_000 }).toContain("running");
    expect(await page.locator("g.node", { hasText: "clean/7" }).textContent()).toContain("waiting");
    await shot("build-running");
    writeFileSync(gate, "");
    await poll(() => page.locator("h1").textContent(), { timeout: 20_000 }).toContain("completed");
    await poll(() => page.locator("g.node", { hasText: "clean/7" }).textContent()).toContain("succeeded");
    expect(await page.locator(".gantt-row").count()).toBe(2);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await shot("build");
    await page.goto(url("/builds"));
    await poll(() => page.locator(".build-row").count()).toBeGreaterThanOrEqual(4);
    await shot("builds");
  });

  it("draws the 100,000-partition grid and redraws it for a status filter (timed in the browser)", async () => {
    const started = Date.now();
    await page.goto(url(`/partitions?search=${encodeURIComponent(GRID_PATTERN)}`));
    const canvas = page.locator("canvas.grid-canvas");
    await canvas.waitFor({ timeout: 20_000 });
    const firstDraw = await page.evaluate(() => performance.now());
    const caption = await page.locator("figure.grid figcaption").textContent();
    expect(caption).toContain(`${(GRID_REGIONS * GRID_DAYS).toLocaleString("en")} partitions`);
    expect(caption).toContain(`${GRID_REGIONS} rows × ${GRID_DAYS.toLocaleString("en")} date values`);
    const legend = await page.locator("ul.legend").textContent();
    expect(legend).toContain(`failed ${gridCounts.get(PartitionStatus.PARTITION_FAILED)!.toLocaleString("en")}`);
    expect(legend).toContain(
      `invalidated ${gridCounts.get(PartitionStatus.PARTITION_INVALIDATED)!.toLocaleString("en")}`,
    );
    await shot("partition-grid");
    // Click "failed": from the click to the redrawn frame, measured in the page.
    const filter = await page.evaluate(
      () =>
        new Promise<{ ms: number; drawMs: number; filter: string }>((resolve) => {
          const t0 = performance.now();
          window.addEventListener(
            "databuild:grid-drawn",
            (event) => {
              const detail = (event as CustomEvent<{ drawMs: number; filter: string }>).detail;
              requestAnimationFrame(() => resolve({ ms: performance.now() - t0, ...detail }));
            },
            { once: true },
          );
          const failed = Array.from(document.querySelectorAll<HTMLLabelElement>(".status-filter label")).find(
            (l) => l.textContent?.trim() === "failed",
          )!;
          failed.querySelector("input")!.click();
        }),
    );
    expect(filter.filter).toBe(String(PartitionStatus.PARTITION_FAILED));
    await page.waitForURL(/status=failed/);
    expect(await canvas.getAttribute("data-filter")).toBe(String(PartitionStatus.PARTITION_FAILED));
    await shot("partition-grid-filtered");
    // Keyboard: focus the grid, move right twice, Enter opens that partition.
    await canvas.focus();
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowDown");
    expect(await page.locator(".grid-focus").textContent()).toContain("grid/region=r1/date=2000-01-03");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/partitions\/grid%2Fregion%3Dr1%2Fdate%3D2000-01-03$/);
    console.log(
      `grid of ${GRID_REGIONS * GRID_DAYS} partitions: page load to first draw ${firstDraw.toFixed(0)} ms (test side ${
        Date.now() - started
      } ms); status filter click to redrawn frame ${filter.ms.toFixed(1)} ms (canvas draw ${filter.drawMs.toFixed(1)} ms)`,
    );
  });

  it("keeps a token for the session and uses it: invalidate a partition, pause and resume a trigger", async () => {
    await page.goto(partitionUrl("clean/2"));
    await page.getByRole("button", { name: "Invalidate clean/2" }).click();
    await poll(() => page.locator(".panel .error").last().textContent()).toMatch(/token/i);
    await page.getByRole("button", { name: "Enter token" }).click();
    await page.getByLabel("Token").fill(buildToken);
    await page.getByRole("button", { name: "Use token" }).click();
    await page.getByLabel("Reason").fill("bad upstream data");
    await page.getByRole("button", { name: "Invalidate clean/2" }).click();
    await poll(() => page.getByRole("status").textContent()).toContain("Invalidated 1 partition");
    const [view] = (await api.getPartitions({ partitions: [{ str: "clean/2" }] })).partitions;
    expect(view!.status).toBe(PartitionStatus.PARTITION_INVALIDATED);
    // Kept across page loads of the session.
    await page.reload();
    expect(await page.locator(".token").textContent()).toContain(`token ${buildToken.slice(0, 8)}`);

    await page.goto(url("/triggers"));
    const row = page.locator("tr", { hasText: "nightly_clean" });
    await poll(() => row.textContent()).toContain("0 3 * * *");
    expect(await row.textContent()).toContain("active");
    // A build token may not pause a trigger; an admin token may.
    await row.getByRole("button", { name: "Pause nightly_clean" }).click();
    await poll(() => page.locator(".error").count()).toBe(1);
    await page.getByRole("button", { name: "Change token" }).click();
    await page.getByLabel("Token").fill(adminToken);
    await page.getByRole("button", { name: "Use token" }).click();
    await row.getByRole("button", { name: "Pause nightly_clean" }).click();
    await poll(() => row.textContent()).toContain("paused");
    await shot("triggers");
    await row.getByRole("button", { name: "Resume nightly_clean" }).click();
    await poll(() => row.textContent()).toContain("active");
  });

  it("lists the jobs with their patterns and versions; keyboard shortcuts move between pages", async () => {
    await page.goto(url("/jobs"));
    const table = page.locator("table");
    await poll(() => table.textContent()).toContain("raw/{x}");
    expect(await table.textContent()).toContain(GRID_PATTERN);
    expect(await page.locator("main").textContent()).toContain("dashboard_test");
    await shot("jobs");
    await page.locator("body").press("g");
    await page.locator("body").press("b");
    await page.waitForURL(/\/builds$/);
    await page.locator("body").press("/");
    await page.waitForURL(/\/partitions$/);
    await page.locator("body").press("/");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("partition-search");
    // The dark theme (prefers-color-scheme).
    const dark = await browser.newPage({ viewport: { width: 1280, height: 860 }, colorScheme: "dark" });
    await dark.goto(url(`/partitions?search=${encodeURIComponent("clean/{x}")}`));
    await poll(() => dark.locator(".partition-list").getByRole("link", { name: "clean/1" }).count()).toBe(1);
    const background = await dark.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe("rgb(18, 20, 23)");
    await shot("partitions-dark", dark);
    await dark.close();
  });
});
