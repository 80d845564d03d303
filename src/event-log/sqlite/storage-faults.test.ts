// Storage faults under the SQLite event log, on real files: a tmpfs that
// fills up, a read-only bind mount, a log deleted or replaced while open.
// Each is an EventLogStorageError naming the path, and what was committed
// stays readable. (The CLI's side: src/cli/storage-faults.test.ts.)
import { createHash } from "node:crypto";
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { isDatabuildError } from "../../core/errors.ts";
import type { EventLog } from "../../core/event-log.ts";
import {
  bindReadOnly,
  folderSnapshot,
  fillUp,
  mountTmpfs,
  openTempDir,
  probeMounts,
  unmount,
  unmountAll,
} from "../../testing/storage-faults.ts";
import { EventLogStorageError, type EventLogStorageProblem } from "../event-log-error.ts";
import { sampleEvents } from "../sample-events.ts";
import { openSqliteEventLog } from "./open-sqlite-event-log.ts";

const mounts = probeMounts();
const mountsNote = mounts.ok ? "" : ` [skipped: ${mounts.reason}]`;
afterAll(unmountAll);

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

async function failure(promise: Promise<unknown>): Promise<EventLogStorageError> {
  const error = await promise.then(
    () => expect.fail("it succeeded"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EventLogStorageError);
  expect(isDatabuildError(error)).toBe(true);
  return error as EventLogStorageError;
}

function expectProblem(error: EventLogStorageError, path: string, problem: EventLogStorageProblem, text: RegExp) {
  expect(error.problem).toBe(problem);
  expect(error.code).toBe("EVENT_LOG_STORAGE");
  expect(error.message.startsWith(`${path}: `)).toBe(true);
  expect(error.message).toMatch(text);
  expect(error.message).not.toMatch(/\n\s+at /); // no stack trace in the message
}

/** Appends batches of `size` events until one fails; returns what was acknowledged and the error. */
async function appendUntilFull(log: EventLog, size: number): Promise<{ acknowledged: string[]; error: unknown }> {
  const acknowledged: string[] = [];
  for (let k = 0; k < 10_000; k++) {
    const batch = sampleEvents(size, { buildRequestId: "filler" }, k * size);
    try {
      await log.append(batch);
    } catch (error) {
      return { acknowledged, error };
    }
    acknowledged.push(...batch.map((e) => e.eventId));
  }
  throw new Error("the disk never filled up");
}

describe(`SqliteEventLog on a full disk${mountsNote}`, () => {
  let disk: string;
  beforeEach(() => {
    if (mounts.ok) disk = mountTmpfs(512 * 1024);
  });
  afterEach(() => {
    if (disk) unmount(disk);
  });

  it.skipIf(!mounts.ok)(
    "an append that finds the disk full fails naming the log, and every acknowledged event stays readable",
    async () => {
      const path = join(disk, ".databuild", "databuild.db");
      const log = await openSqliteEventLog(path);
      const { acknowledged, error } = await appendUntilFull(log, 200);
      await log.close();
      expect(acknowledged.length).toBeGreaterThan(0);
      expectProblem(
        error as EventLogStorageError,
        path,
        "disk-full",
        /the disk is full: .*SQLITE_FULL.*intact and readable/,
      );
      expect((error as EventLogStorageError).operation).toBe("append");
      // Still full: reading needs no space.
      const reader = await openSqliteEventLog(path, { readOnly: true });
      try {
        expect((await reader.read(0)).map((l) => l.event.eventId)).toEqual(acknowledged);
      } finally {
        await reader.close();
      }
    },
  );

  it.skipIf(!mounts.ok)("creating a log on a full disk leaves no file and no folder behind", async () => {
    fillUp(disk);
    const before = readdirSync(disk);
    const path = join(disk, "project", ".databuild", "databuild.db");
    const error = await failure(openSqliteEventLog(path));
    expectProblem(error, path, "disk-full", /No event log was created/);
    expect(readdirSync(disk)).toEqual(before);
    // With the folder already there, it is kept, and still holds nothing.
    mkdirSync(join(disk, "kept"));
    await failure(openSqliteEventLog(join(disk, "kept", "databuild.db")));
    expect(readdirSync(join(disk, "kept"))).toEqual([]);
  });

  it.skipIf(!mounts.ok)("whatever space is left, creating a log either succeeds or leaves nothing behind", async () => {
    // Across the boundary: no room at all, room for the new file but not for
    // opening it in WAL mode (its -wal and a 32 KiB -shm), room for both.
    const filler = fillUp(disk);
    const full = statSync(filler).size;
    const path = join(disk, "databuild.db");
    const outcomes: string[] = [];
    for (let free = 0; free <= 160 * 1024; free += 8 * 1024) {
      truncateSync(filler, full - free);
      const error = await openSqliteEventLog(path).then(
        async (log) => {
          await log.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      if (error === undefined) {
        outcomes.push("created");
        for (const f of readdirSync(disk)) if (f !== "filler") rmSync(join(disk, f));
        continue;
      }
      outcomes.push("refused");
      expect(error, `with ${free} bytes free`).toBeInstanceOf(EventLogStorageError);
      expect((error as EventLogStorageError).message).toMatch(/the disk is full: .*No event log was created/);
      expect(readdirSync(disk), `with ${free} bytes free`).toEqual(["filler"]);
    }
    expect(outcomes).toContain("refused");
    expect(outcomes).toContain("created");
  });
});

describe("SqliteEventLog whose file is deleted or replaced while open", () => {
  let dir: string;
  beforeEach(() => {
    dir = openTempDir("databuild-bel-moved-");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("deleted: the next append fails naming the log, and no -wal is left at the path to spoil a new log", async () => {
    const path = join(dir, "databuild.db");
    const log = await openSqliteEventLog(path);
    await log.append(sampleEvents(10));
    rmSync(path);
    const error = await failure(log.append(sampleEvents(1, undefined, 10)));
    expectProblem(error, path, "moved", /deleted or replaced while in use: the file at that path is gone/);
    await log.close();
    expect(readdirSync(dir)).toEqual([]);
    // A new log at the path starts empty.
    const fresh = await openSqliteEventLog(path);
    expect(await fresh.head()).toBe(0);
    await fresh.close();
  });

  it("replaced: appends fail naming both files, the replacement is left as it is, and the moved file keeps its events", async () => {
    const path = join(dir, "databuild.db");
    const log = await openSqliteEventLog(path);
    await log.append(sampleEvents(10));
    renameSync(path, join(dir, "moved.db"));
    copyFileSync(join(dir, "moved.db"), join(dir, "other.db"));
    renameSync(join(dir, "other.db"), path);
    const replacement = sha256(path);
    const error = await failure(log.append(sampleEvents(1, undefined, 10)));
    expectProblem(error, path, "moved", /the path now holds another file \(device \d+, inode \d+; the log opened was/);
    // The atomic path (claims, fenced batches) checks too.
    const atomic = await failure(log.appendAtomically(0, undefined, () => ({ append: [], result: 0 })));
    expect(atomic.problem).toBe("moved");
    await log.close();
    expect(sha256(path)).toBe(replacement);
    const moved = await openSqliteEventLog(join(dir, "moved.db"), { readOnly: true });
    expect(await moved.head()).toBe(10);
    await moved.close();
  });
});

describe(`SqliteEventLog opened read-only${mountsNote}`, () => {
  let dir: string;
  beforeEach(() => {
    dir = openTempDir("databuild-bel-ro-");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads, and refuses to append", async () => {
    const path = join(dir, "databuild.db");
    const writer = await openSqliteEventLog(path);
    await writer.append(sampleEvents(5));
    const reader = await openSqliteEventLog(path, { readOnly: true });
    try {
      expect(await reader.head()).toBe(5);
      await expect(reader.append(sampleEvents(1, undefined, 5))).rejects.toThrow(/opened read-only/);
      // It follows a writer's appends.
      await writer.append(sampleEvents(2, undefined, 5));
      expect((await reader.read(5)).map((l) => l.offset)).toEqual([6, 7]);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it("does not create a log that is not there", async () => {
    await expect(openSqliteEventLog(join(dir, "none.db"), { readOnly: true })).rejects.toThrow(/no file at that path/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it.skipIf(!mounts.ok)(
    "a new log in a folder to be made on a read-only file system is a read-only fault, not a missing folder",
    async () => {
      const ro = bindReadOnly(dir);
      try {
        const opening = openSqliteEventLog(join(ro, "not", "yet", "databuild.db"));
        await expect(opening).rejects.toBeInstanceOf(EventLogStorageError);
        await expect(opening).rejects.toMatchObject({ problem: "read-only" });
      } finally {
        unmount(ro);
      }
    },
  );

  it.skipIf(!mounts.ok)(
    "on a read-only file system: reads a frozen read, creates nothing, follows a writer that appears, and a writer opening there is refused",
    async () => {
      const path = join(dir, "databuild.db");
      const writer = await openSqliteEventLog(path);
      await writer.append(sampleEvents(5));
      await writer.close(); // checkpointed: no -wal left
      const ro = bindReadOnly(dir);
      try {
        const before = folderSnapshot(dir);
        const roPath = join(ro, "databuild.db");
        const reader = await openSqliteEventLog(roPath, { readOnly: true });
        try {
          expect(await reader.head()).toBe(5);
          expect((await reader.read(0)).map((l) => l.offset)).toEqual([1, 2, 3, 4, 5]);
          expect(folderSnapshot(dir)).toEqual(before);
          // A build writing the same file through its writable path: the reader sees its events.
          const again = await openSqliteEventLog(path);
          await again.append(sampleEvents(3, undefined, 5));
          expect((await reader.read(5)).map((l) => l.offset)).toEqual([6, 7, 8]);
          await again.close();
        } finally {
          await reader.close();
        }
        const listing = folderSnapshot(dir);
        const refused = await failure(openSqliteEventLog(roPath));
        expectProblem(refused, roPath, "read-only", /the event log is read-only: it is on a read-only file system/);
        expect(folderSnapshot(dir)).toEqual(listing);
      } finally {
        unmount(ro);
      }
    },
  );
});
