/*
 * Creating and revoking tokens on a real log, on SQLite and on PostgreSQL:
 * decided atomically across connections (each EventLog here is its own
 * connection, as separate processes or service replicas would be), only the
 * hash logged, nothing written when refused.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { EventLog } from "../core/event-log.ts";
import { loadReadModel, reindex } from "../coordination/index.ts";
import { TokenBook } from "../core/projections/tokens.ts";
import { LOG_BACKENDS } from "../testing/log-backends.ts";
import { tempDir } from "../testing/run-cli.ts";
import { authorize } from "./authorize.ts";
import { createToken, followTokenBook, loadTokenBook, loadTokenBookAt, revokeToken } from "./token-log.ts";
import { TokenError } from "./token-error.ts";
import { hashToken } from "./token-secret.ts";

const opened: EventLog[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((log) => log.close()));
});

/** The problems of the calls that were refused, and how many succeeded. */
async function outcomes<T>(calls: Promise<T>[]): Promise<{ ok: T[]; problems: string[] }> {
  const settled = await Promise.allSettled(calls);
  const ok = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const problems = settled.flatMap((s) => {
    if (s.status === "fulfilled") return [];
    if (!(s.reason instanceof TokenError)) throw s.reason;
    return [s.reason.problem];
  });
  return { ok, problems };
}

for (const backend of LOG_BACKENDS) {
  describe(`tokens on the log (${backend.name})`, () => {
    async function logs(n: number): Promise<EventLog[]> {
      const location = await backend.freshLocation(tempDir("databuild-tokens-"));
      const first = await backend.open(location);
      opened.push(first);
      for (let i = 1; i < n; i++) opened.push(await backend.open(location));
      return opened.slice(-n);
    }

    it("logs a created token's hash and prefix, never the token; the book finds it by its hash", async () => {
      const [log] = await logs(1);
      const { token, view } = await createToken(log!, { name: "ci", scopes: ["build"], createdBy: "alice@here" });
      expect(view).toMatchObject({
        name: "ci",
        createdBy: "alice@here",
        tokenPrefix: token.slice(0, 8),
        revoked: false,
      });
      const events = await log!.read(0);
      expect(events).toHaveLength(1);
      const [{ event }] = events as [(typeof events)[0]];
      expect(event.buildRequestId).toBe("");
      expect(event.event.case === "tokenCreated" && event.event.value.tokenHash).toBe(hashToken(token));
      expect(JSON.stringify(event, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(token);
      const book = await loadTokenBook(log!);
      expect(book.byHash(hashToken(token))).toEqual({ name: "ci", scopes: ["build"] });
      expect(authorize(book, `Bearer ${token}`, "build", { allowAnonymousRead: false })).toMatchObject({ ok: true });
    });

    it("of 8 concurrent creations of one name on 4 connections, exactly one succeeds", async () => {
      const connections = await logs(4);
      const { ok, problems } = await outcomes(
        Array.from({ length: 8 }, (_, i) =>
          createToken(connections[i % 4]!, { name: "deploy", scopes: ["admin"], createdBy: `p${i}` }),
        ),
      );
      expect(ok).toHaveLength(1);
      expect(problems).toEqual(Array(7).fill("name-taken"));
      const created = await connections[0]!.read(0, { kinds: ["tokenCreated"] });
      expect(created).toHaveLength(1);
      const book = await loadTokenBook(connections[3]!);
      expect(book.byHash(hashToken(ok[0]!.token))).toEqual({ name: "deploy", scopes: ["admin"] });
    });

    it("of 8 concurrent revocations of one token, exactly one succeeds; the name can then be made again", async () => {
      const connections = await logs(4);
      const first = await createToken(connections[0]!, { name: "ci", scopes: ["read"], createdBy: "a" });
      const { ok, problems } = await outcomes(
        Array.from({ length: 8 }, (_, i) => revokeToken(connections[i % 4]!, "ci", `p${i}`)),
      );
      expect(ok).toHaveLength(1);
      expect(ok[0]).toMatchObject({ name: "ci", revoked: true });
      expect(problems).toEqual(Array(7).fill("already-revoked"));
      const second = await createToken(connections[1]!, { name: "ci", scopes: ["build"], createdBy: "a" });
      const book = await loadTokenBook(connections[2]!);
      expect(book.byHash(hashToken(first.token))).toBeUndefined();
      expect(book.byHash(hashToken(second.token))).toEqual({ name: "ci", scopes: ["build"] });
      expect(book.views().map((v) => v.revoked)).toEqual([true, false]);
    });

    it("refuses a bad name, no scope, a taken name and an unknown token with their problems, writing nothing", async () => {
      const [log] = await logs(1);
      await createToken(log!, { name: "ci", scopes: ["read"], createdBy: "a" });
      const head = await log!.head();
      const { ok, problems } = await outcomes<unknown>([
        createToken(log!, { name: "has space", scopes: ["read"], createdBy: "a" }),
        createToken(log!, { name: "-dash", scopes: ["read"], createdBy: "a" }),
        createToken(log!, { name: "x".repeat(65), scopes: ["read"], createdBy: "a" }),
        createToken(log!, { name: "ok", scopes: [], createdBy: "a" }),
        createToken(log!, { name: "ok", scopes: ["root" as "read"], createdBy: "a" }),
        createToken(log!, { name: "ci", scopes: ["admin"], createdBy: "a" }),
        revokeToken(log!, "nobody", "a"),
      ]);
      expect(ok).toEqual([]);
      expect(problems).toEqual([
        "invalid-name",
        "invalid-name",
        "invalid-name",
        "no-scope",
        "unknown-scope",
        "name-taken",
        "not-found",
      ]);
      expect(await log!.head()).toBe(head);
    });

    it("keeps scopes once each in read, build, admin order", async () => {
      const [log] = await logs(1);
      const { token } = await createToken(log!, { name: "x", scopes: ["admin", "read", "admin"], createdBy: "a" });
      expect((await loadTokenBook(log!)).byHash(hashToken(token))?.scopes).toEqual(["read", "admin"]);
    });

    it("a followed book sees tokens created and revoked through another connection", async () => {
      const [mine, theirs] = await logs(2);
      const followed = await followTokenBook(mine!);
      try {
        const { token } = await createToken(theirs!, { name: "late", scopes: ["read"], createdBy: "a" });
        await expect.poll(() => followed.book.live("late"), { timeout: 10_000 }).toBe(true);
        await revokeToken(theirs!, "late", "a");
        await expect.poll(() => followed.book.byHash(hashToken(token)), { timeout: 10_000 }).toBeUndefined();
      } finally {
        followed.stop();
      }
    });

    it("loads from a snapshot (reindex) the same book a replay folds", async () => {
      const [log] = await logs(1);
      for (let i = 0; i < 5; i++) await createToken(log!, { name: `t${i}`, scopes: ["read"], createdBy: "a" });
      await revokeToken(log!, "t2", "b");
      const rebuilt = await reindex(log!);
      expect(rebuilt.map((m) => m.name)).toContain("tokens");
      await createToken(log!, { name: "after", scopes: ["build"], createdBy: "a" });
      const loaded = await loadTokenBookAt(log!);
      expect(loaded.cursor).toBe(await log!.head());
      const replay = await loadReadModel(log!, () => new TokenBook(), { replay: true, snapshotAfter: Infinity });
      expect(replay.tail).toBe(7);
      expect(loaded.book.saveState()).toEqual(replay.model.saveState());
      expect(loaded.book.views().map((v) => [v.name, v.revoked])).toEqual([
        ["t0", false],
        ["t1", false],
        ["t2", true],
        ["t3", false],
        ["t4", false],
        ["after", false],
      ]);
    });
  });
}
