import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { DATABUILD_API, runDatabuild, tempDir, writeFiles } from "../../testing/run-cli.ts";

const graph = `import { defineGraph, defineJob } from ${JSON.stringify(DATABUILD_API)};
const raw = defineJob({ label: "raw", outputs: ["raw/{n}"], exec: () => {} });
const sum = defineJob({
  label: "sum",
  outputs: ["sum/{n}"],
  config: ({ n }) => ({ inputs: Array.from({ length: Number(n) }, (_, i) => "raw/" + i) }),
  exec: () => {},
});
export default defineGraph({ label: "many", jobs: [raw, sum] });
`;

/** What the reading commands say, for comparison (ids and times included). */
async function answers(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const args of [
    ["status", "--json", "sum/1500", "raw/7", "raw/99999"],
    ["builds", "--json"],
    ["explain", "--json", "sum/1500"],
  ]) {
    const r = await runDatabuild(args, { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    // Explanations say "built 9 s ago": the clock moves, the answer does not.
    out.push(r.stdout.replace(/"summary":"[^"]*"/g, '"summary":"…"'));
  }
  return out;
}

/** Compares long outputs without printing them whole: the first difference, if any. */
function firstDifference(a: string[], b: string[]): string | undefined {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? "";
    const y = b[i] ?? "";
    if (x === y) continue;
    let at = 0;
    while (at < x.length && x[at] === y[at]) at++;
    return `answer ${i} differs at ${at}: ${JSON.stringify(x.slice(at - 40, at + 80))} vs ${JSON.stringify(y.slice(at - 40, at + 80))}`;
  }
  return undefined;
}

describe("databuild reindex", () => {
  it("rebuilds every read model from the log: the answers are the same before, after, and with damaged snapshots", async () => {
    const dir = writeFiles(tempDir("databuild-reindex-"), {
      "package.json": '{ "type": "module" }',
      "databuild.ts": graph,
    });
    // Enough events that the build leaves snapshots behind.
    const built = await runDatabuild(["build", "sum/1500"], { cwd: dir });
    expect(built.code, built.stderr).toBe(0);
    const db = join(dir, ".databuild", "databuild.db");
    const names = () =>
      new Database(db, { readonly: true })
        .prepare("SELECT name FROM snapshots ORDER BY name")
        .pluck()
        .all() as string[];
    const before = await answers(dir);
    // The next build reads the first one's events once and leaves snapshots behind.
    const again = await runDatabuild(["build", "sum/1500"], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    // (a build loads and snapshots only the shared view; job runs are snapshotted by reindex)
    expect(names()).toEqual(["shared-view"]);
    const withSnapshots = await answers(dir);
    // Only the build list grew (the second build); everything else reads the same.
    expect(firstDifference(withSnapshots.slice(0, 1), before.slice(0, 1))).toBeUndefined();

    const reindexed = await runDatabuild(["reindex"], { cwd: dir });
    expect(reindexed.code, reindexed.stderr).toBe(0);
    expect(reindexed.stderr).toMatch(/^shared-view \(version \d+\): [\d,]+ events, up to offset \d+/m);
    expect(reindexed.stderr).toMatch(/^reindexed .*databuild\.db in \d+ ms$/m);
    expect(firstDifference(await answers(dir), withSnapshots)).toBeUndefined();

    const raw = new Database(db);
    raw.prepare("UPDATE snapshots SET state = CAST(zeroblob(8) AS BLOB)").run();
    raw.close();
    const damaged = await runDatabuild(["status", "sum/1500"], { cwd: dir });
    expect(damaged.code, damaged.stderr).toBe(0);
    expect(damaged.stderr).toContain(
      "databuild: note: read model shared-view: its snapshot is damaged (checksum mismatch); rebuilding it from the log",
    );
    expect(firstDifference(await answers(dir), withSnapshots)).toBeUndefined();
  }, 120_000);

  it("has --help and needs an existing log", async () => {
    const help = await runDatabuild(["reindex", "--help"]);
    expect(help.stdout).toContain("rebuild every read model");
    const dir = writeFiles(tempDir("databuild-reindex-none-"), {
      "package.json": '{ "type": "module" }',
      "databuild.ts": graph,
    });
    const missing = await runDatabuild(["reindex"], { cwd: dir });
    expect(missing.code).toBe(2);
  });
});
