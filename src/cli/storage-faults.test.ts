// Storage faults as a user meets them, through the real bin: a disk that
// fills up under the log, a log on a full disk, a log this user may only
// read (or on a read-only mount), and a log deleted or replaced underneath
// a running build. Each is exit 3 with a message naming the log, no stack
// trace, no `ok` for what was not recorded, and the log intact.
import { fromJsonString } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildEventSchema, PartitionStatus, PartitionStatusViewSchema, type BuildEvent } from "../gen/databuild_pb.ts";
import { COUNTING_JOB_SH, manifestJob, manifestProject } from "../testing/manifest-project.ts";
import { runDatabuild, type CliResult } from "../testing/run-cli.ts";
import {
  bindReadOnly,
  fillUp,
  folderSnapshot,
  mountTmpfs,
  probeMounts,
  probeUser,
  runDatabuildAs,
  UNPRIVILEGED_USER,
  unmount,
  unmountAll,
} from "../testing/storage-faults.ts";

const mounts = probeMounts();
const user = probeUser();
const skipped = (probe: typeof mounts) => (probe.ok ? "" : ` [skipped: ${probe.reason}]`);
afterAll(unmountAll);

/** quiet/{x}: writes data/<ref> after a short sleep. flood/{x}: prints a few MB, then writes data/<ref>. */
const QUIET_SH = `#!/usr/bin/env bash
set -euo pipefail
sleep 0.1
mkdir -p "data/$(dirname "$1")"
echo "built $1" > "data/$1"
echo "wrote $1"
`;
const FLOOD_SH = `#!/usr/bin/env bash
set -eu
# Random lines: the log stores large payloads deflated, so repeated lines would hardly take room.
head -c 3000000 /dev/urandom | base64
mkdir -p "data/$(dirname "$1")"
echo "built $1" > "data/$1"
`;

function project(): string {
  const dir = manifestProject({
    "jobs/quiet.sh": QUIET_SH,
    "jobs/flood.sh": FLOOD_SH,
    "jobs/counting.sh": COUNTING_JOB_SH,
    "databuild.yaml": `name: storage_faults
jobs:
${manifestJob("quiet", "quiet/{x}", ["bash", "jobs/quiet.sh"])}
${manifestJob("flood", "flood/{x}", ["bash", "jobs/flood.sh"], "quiet/1,quiet/2,quiet/3")}
${manifestJob("gated", "gated/{x}", ["bash", "jobs/counting.sh"])}
`,
  });
  // mkdtemp makes 0700 folders: let other users in, as a shared project folder would.
  for (const d of [dir, join(dir, "jobs")]) chmodSync(d, 0o755);
  return dir;
}

const okRefs = (stderr: string) => [...stderr.matchAll(/^ok\s+\S+\s+(\S+)/gm)].map((m) => m[1]!);

async function statuses(dir: string, db: string, refs: string[]): Promise<Record<string, PartitionStatus>> {
  const r = await runDatabuild(["--db", db, "status", "--json", ...refs], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.trim().split("\n");
  return Object.fromEntries(lines.map((l, i) => [refs[i]!, fromJsonString(PartitionStatusViewSchema, l).status]));
}

async function events(dir: string, db: string): Promise<BuildEvent[]> {
  const r = await runDatabuild(["--db", db, "events", "--json"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => fromJsonString(BuildEventSchema, l));
}

function expectStorageError(r: CliResult, text: RegExp): void {
  expect(r.code, r.stderr).toBe(3);
  expect(r.stderr).toMatch(text);
  expect(r.stderr).not.toMatch(/internal error|SqliteError|\n\s+at /);
}

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe(`databuild on a full disk${skipped(mounts)}`, () => {
  it.skipIf(!mounts.ok)(
    "a build whose log fills the disk exits 3 saying so, prints ok only for what was recorded, and the log still reads",
    async () => {
      const dir = project();
      const disk = mountTmpfs(1024 * 1024);
      try {
        const db = join(disk, ".databuild", "databuild.db");
        // A long heartbeat: the failed append itself must wake the build, not its next heartbeat.
        const r = await runDatabuild(
          ["--db", db, "build", "-j1", "--heartbeat", "30", "--heartbeat-timeout", "60", "flood/1"],
          {
            cwd: dir,
          },
        );
        expectStorageError(
          r,
          new RegExp(
            `databuild: error: ${db}: the event log could not be written: the disk is full: .*from here on nothing was recorded, so the command stopped`,
          ),
        );
        // The failed append wakes the build, which stops the flood job (or it had finished): either way
        // its result was never recorded, so there is no ok for it.
        const ok = okRefs(r.stderr);
        expect(ok).toContain("quiet/1");
        expect(ok).not.toContain("flood/1");
        // The log opens and reads on the still full disk, and holds every result an ok line announced.
        const status = await statuses(dir, db, [...ok, "flood/1"]);
        for (const ref of ok) expect(status[ref], ref).toBe(PartitionStatus.PARTITION_AVAILABLE);
        expect(status["flood/1"]).not.toBe(PartitionStatus.PARTITION_AVAILABLE);
        const all = await events(dir, db);
        expect(all.some((e) => e.event.case === "logEntry")).toBe(true);
        const builds = await runDatabuild(["--db", db, "builds"], { cwd: dir });
        expect(builds.code, builds.stderr).toBe(0);
      } finally {
        unmount(disk);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it.skipIf(!mounts.ok)("a new log on a full disk is not created: no file, no folder, no job run", async () => {
    const dir = project();
    const disk = mountTmpfs(256 * 1024);
    try {
      fillUp(disk);
      const before = readdirSync(disk);
      const db = join(disk, ".databuild", "databuild.db");
      const r = await runDatabuild(["--db", db, "build", "quiet/1"], { cwd: dir });
      expectStorageError(
        r,
        new RegExp(`${db}: the event log could not be written: the disk is full: .*No event log was created`),
      );
      expect(readdirSync(disk)).toEqual(before);
      expect(existsSync(join(dir, "data/quiet/1"))).toBe(false);
    } finally {
      unmount(disk);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a read-only event log", () => {
  let dir: string;
  let folder: string;
  let db: string;
  let jobRun: string;
  beforeAll(async () => {
    dir = project();
    folder = join(dir, ".databuild");
    db = join(folder, "databuild.db");
    const built = await runDatabuild(["build", "quiet/1", "quiet/2"], { cwd: dir });
    expect(built.code, built.stderr).toBe(0);
    const success = (await events(dir, db)).find(
      (e) => e.event.case === "partitionManifest" && e.event.value.outputs[0]?.str === "quiet/1",
    );
    jobRun = success!.jobRunId;
    // The read above, as root in a folder it may write, left the empty -wal and
    // -shm a read-only connection cannot remove; with no connection open,
    // removing them is safe. Then the log is as a finished build leaves it:
    // the file alone, which the user below can only read as a snapshot.
    for (const f of ["databuild.db-wal", "databuild.db-shm"]) {
      expect(statSync(join(folder, f)).size === 0 || f.endsWith("-shm")).toBe(true);
      rmSync(join(folder, f));
    }
    expect(readdirSync(folder)).toEqual(["databuild.db"]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs every reading command and checks what each says. */
  async function readsWork(run: (args: string[]) => Promise<CliResult>): Promise<void> {
    const status = await run(["status", "quiet/1"]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/quiet\/1\s+AVAILABLE/);
    const all = await run(["events"]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain("build request completed");
    const builds = await run(["builds"]);
    expect(builds.code, builds.stderr).toBe(0);
    expect(builds.stdout).toMatch(/completed .* 2 built/);
    const explain = await run(["explain", "quiet/1"]);
    expect(explain.code, explain.stderr).toBe(0);
    expect(explain.stdout).toMatch(/available/);
    const logs = await run(["logs", jobRun]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain("wrote quiet/1");
    const dry = await run(["build", "--dry-run", "quiet/3"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("would run quiet  quiet/3");
  }

  it.skipIf(!user.ok)(
    `read by a user who may not write it or its folder (${UNPRIVILEGED_USER}): reading commands work and change nothing; build and invalidate fail naming the log${skipped(user)}`,
    async () => {
      const before = folderSnapshot(folder);
      const asUser = (args: string[]) => runDatabuildAs(UNPRIVILEGED_USER, args, { cwd: dir });
      await readsWork(asUser);
      expect(folderSnapshot(folder)).toEqual(before);
      const readOnly = new RegExp(
        `databuild: error: ${db}: the event log is read-only: this user \\(${UNPRIVILEGED_USER}, uid \\d+\\) may not write it\\. .*pass --db PATH`,
      );
      expectStorageError(await asUser(["build", "quiet/3"]), readOnly);
      expectStorageError(await asUser(["invalidate", "quiet/1"]), readOnly);
      expect(existsSync(join(dir, "data/quiet/3"))).toBe(false);
      expect(folderSnapshot(folder)).toEqual(before);
    },
  );

  it.skipIf(!mounts.ok)(`on a read-only bind mount, read as root: the same${skipped(mounts)}`, async () => {
    const before = folderSnapshot(folder);
    const ro = bindReadOnly(folder);
    try {
      const roDb = join(ro, "databuild.db");
      await readsWork((args) => runDatabuild(["--db", roDb, ...args], { cwd: dir }));
      const readOnly = new RegExp(`${roDb}: the event log is read-only: it is on a read-only file system`);
      expectStorageError(await runDatabuild(["--db", roDb, "build", "quiet/3"], { cwd: dir }), readOnly);
      expectStorageError(await runDatabuild(["--db", roDb, "invalidate", "quiet/1"], { cwd: dir }), readOnly);
    } finally {
      unmount(ro);
    }
    expect(folderSnapshot(folder)).toEqual(before);
  });

  it.skipIf(!user.ok)(
    `read by that user while a build runs (its -wal and -shm exist): it sees the build, and creates nothing${skipped(user)}`,
    async () => {
      const gate = join(dir, "gate");
      const running = runDatabuild(["build", "gated/1"], { cwd: dir, env: { GATE: gate } });
      try {
        await until(() => existsSync(join(dir, "runs/gated/1")), "the gated job to start");
        expect(readdirSync(folder).sort()).toEqual(["databuild.db", "databuild.db-shm", "databuild.db-wal"]);
        const asUser = (args: string[]) => runDatabuildAs(UNPRIVILEGED_USER, args, { cwd: dir });
        const status = await asUser(["status", "gated/1"]);
        expect(status.code, status.stderr).toBe(0);
        expect(status.stdout).toMatch(/gated\/1\s+(BUILDING|SCHEDULED)/);
        const builds = await asUser(["builds"]);
        expect(builds.code, builds.stderr).toBe(0);
        expect(builds.stdout).toContain("executing");
        const uid = Number(execFileSync("id", ["-u", UNPRIVILEGED_USER], { encoding: "utf8" }));
        for (const name of readdirSync(folder)) expect(statSync(join(folder, name)).uid, name).not.toBe(uid);
      } finally {
        writeFileSync(gate, "");
        const done = await running;
        expect(done.code, done.stderr).toBe(0);
      }
    },
  );
});

describe("a log deleted or replaced underneath a running build", () => {
  const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

  for (const how of ["deleted", "replaced"] as const) {
    it(`${how}: the build stops at its next commit or heartbeat, exit 3, naming the log`, async () => {
      const dir = project();
      try {
        const db = join(dir, ".databuild", "databuild.db");
        const gate = join(dir, "gate");
        const started = Date.now();
        const running = runDatabuild(["build", "--heartbeat", "0.2", "--heartbeat-timeout", "5", "gated/1"], {
          cwd: dir,
          env: { GATE: gate },
        });
        await until(() => existsSync(join(dir, "runs/gated/1")), "the gated job to start");
        let replacement: string | undefined;
        if (how === "deleted") rmSync(db);
        else {
          copyFileSync(db, `${db}.copy`);
          renameSync(`${db}.copy`, db);
          replacement = sha256(db);
        }
        const r = await running;
        expectStorageError(
          r,
          how === "deleted"
            ? new RegExp(`${db}: the event log was deleted or replaced while in use: the file at that path is gone`)
            : new RegExp(`${db}: the event log was deleted or replaced while in use: the path now holds another file`),
        );
        // It stopped on its own, without waiting for the gated job (never let through), and printed no ok.
        expect(Date.now() - started).toBeLessThan(30_000);
        expect(existsSync(gate)).toBe(false);
        expect(okRefs(r.stderr)).toEqual([]);
        if (how === "deleted") {
          // No -wal of the deleted log is left to be replayed into a new log at that path.
          expect(readdirSync(join(dir, ".databuild"))).toEqual([]);
        } else {
          expect(sha256(db)).toBe(replacement);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
