// The shared contract suites on a real PostgreSQL server (the run's, from
// postgres-global-setup.ts), each case on a database of its own.
import { describeEventLogContract } from "../event-log-contract.ts";
import type { OtherWriters } from "../contract-support.ts";
import { startAppendChild } from "../fixtures/run-append-child.ts";
import { describeSnapshotStoreContract } from "../snapshot-store-contract.ts";
import { freshDatabase } from "../../testing/fresh-database.ts";
import { openPostgresEventLog } from "./open-postgres-event-log.ts";

describeEventLogContract(
  "postgres",
  async () => {
    const db = await freshDatabase();
    const log = await openPostgresEventLog(db.url, { pollIntervalMs: 10 });
    return { log, cleanup: () => db.drop(), writers: childWriters(db.url) };
  },
  { timeoutMs: 60_000 },
);

describeSnapshotStoreContract("postgres", async () => {
  const db = await freshDatabase();
  const log = await openPostgresEventLog(db.url);
  return {
    store: log.snapshots,
    cleanup: async () => {
      await log.close();
      await db.drop();
    },
  };
});

/** Writers in processes of their own, each with its own connections, started together. */
function childWriters(url: string): OtherWriters {
  return async (scopes, count) => {
    const children = scopes.map((scope) => startAppendChild(url, scope, count, { hold: true }));
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.go();
    for (const { code, stderr } of await Promise.all(children.map((c) => c.exited))) {
      if (code !== 0) throw new Error(`an appending child exited with ${code}: ${stderr}`);
    }
  };
}
