import { timestampMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { TokenScope, type BuildEvent } from "../../gen/databuild_pb.ts";
import { eventPayload } from "../build-event.ts";
import { newEvent } from "../new-event.ts";
import { ReadModelStateError } from "../read-model.ts";
import { grants, SCOPES, scopeFromProto, scopeToProto, TokenBook } from "./tokens.ts";

const T0 = 1_700_000_000_000;

const created = (name: string, hash: string, scopes: TokenScope[], ms = T0): BuildEvent =>
  newEvent(
    { buildRequestId: "" },
    eventPayload("tokenCreated", {
      name,
      scopes,
      tokenHash: hash,
      createdBy: "alice@here",
      tokenPrefix: `dbt_${name.slice(0, 4)}`,
    }),
    ms,
  );
const revoked = (name: string, ms = T0 + 1000): BuildEvent =>
  newEvent({ buildRequestId: "" }, eventPayload("tokenRevoked", { name, revokedBy: "bob@there" }), ms);

function book(...events: BuildEvent[]): TokenBook {
  const b = new TokenBook();
  for (const e of events) b.apply(e);
  return b;
}

describe("scopes", () => {
  it("map to the proto enum and back; unknown and unspecified values map to nothing", () => {
    for (const s of SCOPES) expect(scopeFromProto(scopeToProto(s))).toBe(s);
    expect(scopeToProto("admin")).toBe(TokenScope.ADMIN);
    expect(scopeFromProto(TokenScope.UNSPECIFIED)).toBeUndefined();
    expect(scopeFromProto(42 as TokenScope)).toBeUndefined();
  });

  it("admin grants build and read, build grants read, read grants only read", () => {
    expect(SCOPES.map((needed) => grants(["admin"], needed))).toEqual([true, true, true]);
    expect(SCOPES.map((needed) => grants(["build"], needed))).toEqual([true, true, false]);
    expect(SCOPES.map((needed) => grants(["read"], needed))).toEqual([true, false, false]);
    expect(grants([], "read")).toBe(false);
  });
});

describe("TokenBook", () => {
  it("finds a live token by its hash, with its name and scopes", () => {
    const b = book(created("ci", "h1", [TokenScope.BUILD]), created("ops", "h2", [TokenScope.READ, TokenScope.ADMIN]));
    expect(b.byHash("h1")).toEqual({ name: "ci", scopes: ["build"] });
    expect(b.byHash("h2")).toEqual({ name: "ops", scopes: ["read", "admin"] });
    expect(b.byHash("h3")).toBeUndefined();
    expect(b.live("ci")).toBe(true);
    expect(b.live("nobody")).toBe(false);
  });

  it("forgets a revoked token's hash but lists it, revoked, with both times from the events", () => {
    const b = book(created("ci", "h1", [TokenScope.BUILD], T0), revoked("ci", T0 + 5000));
    expect(b.byHash("h1")).toBeUndefined();
    expect(b.live("ci")).toBe(false);
    const [view] = b.views();
    expect(view).toMatchObject({
      name: "ci",
      scopes: [TokenScope.BUILD],
      createdBy: "alice@here",
      tokenPrefix: "dbt_ci",
      revoked: true,
    });
    expect(timestampMs(view!.createdAt!)).toBe(T0);
    expect(timestampMs(view!.revokedAt!)).toBe(T0 + 5000);
    expect(b.entries()[0]!.revokedBy).toBe("bob@there");
    // A view never carries the hash.
    expect(JSON.stringify(b.views(), (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain("h1");
  });

  it("lets a revoked name be created again: the list keeps both, only the new hash is live", () => {
    const b = book(created("ci", "h1", [TokenScope.READ]), revoked("ci"), created("ci", "h2", [TokenScope.BUILD]));
    expect(b.byHash("h1")).toBeUndefined();
    expect(b.byHash("h2")).toEqual({ name: "ci", scopes: ["build"] });
    expect(b.views().map((v) => [v.name, v.revoked])).toEqual([
      ["ci", true],
      ["ci", false],
    ]);
    expect(b.liveView("ci")?.scopes).toEqual([TokenScope.BUILD]);
  });

  it("keeps the first of two live tokens of one name (or hash), as the atomic decision would have", () => {
    const b = book(
      created("ci", "h1", [TokenScope.READ]),
      created("ci", "h2", [TokenScope.ADMIN]),
      created("other", "h1", [TokenScope.ADMIN]),
    );
    expect(b.byHash("h1")).toEqual({ name: "ci", scopes: ["read"] });
    expect(b.byHash("h2")).toBeUndefined();
    expect(b.views()).toHaveLength(1);
  });

  it("ignores a revocation of a name with no live token", () => {
    const b = book(revoked("ghost"), created("ci", "h1", [TokenScope.READ]), revoked("ci"), revoked("ci", T0 + 9000));
    expect(b.views()).toHaveLength(1);
    expect(timestampMs(b.views()[0]!.revokedAt!)).toBe(T0 + 1000);
  });

  it("lists a scope it does not know but grants nothing for it", () => {
    const b = book(created("future", "h1", [99 as TokenScope, TokenScope.READ]));
    expect(b.byHash("h1")).toEqual({ name: "future", scopes: ["read"] });
    expect(b.views()[0]!.scopes).toEqual([99, TokenScope.READ]);
  });

  it("saves and restores its state (through a structured clone, as a snapshot store does)", () => {
    const history = [
      created("ci", "h1", [TokenScope.BUILD]),
      created("ops", "h2", [TokenScope.ADMIN]),
      revoked("ci"),
      created("ci", "h3", [TokenScope.READ]),
    ];
    const full = book(...history);
    const restored = new TokenBook();
    restored.restoreState(structuredClone(book(...history.slice(0, 3)).saveState()));
    restored.apply(history[3]!);
    expect(restored.saveState()).toEqual(full.saveState());
    expect(restored.byHash("h1")).toBeUndefined();
    expect(restored.byHash("h2")).toEqual({ name: "ops", scopes: ["admin"] });
    expect(restored.byHash("h3")).toEqual({ name: "ci", scopes: ["read"] });
    expect(restored.views()).toEqual(full.views());
    // The restored book is its own: folding into it leaves the saved state alone.
    const saved = structuredClone(full.saveState());
    const again = new TokenBook();
    again.restoreState(saved);
    again.apply(revoked("ops"));
    expect(full.byHash("h2")).toBeDefined();
    expect(again.byHash("h2")).toBeUndefined();
  });

  it("refuses a saved state that is not its own", () => {
    expect(() => new TokenBook().restoreState({ partitions: 3 })).toThrow(ReadModelStateError);
    expect(() => new TokenBook().restoreState({ records: "x" })).toThrow(/not a list/);
    expect(() => new TokenBook().restoreState(null)).toThrow(ReadModelStateError);
  });
});
