/**
 * @module The token book, folded from the log (SPEC 3.7): the service's
 * bearer tokens, by the SHA-256 hash of each (the token itself is never
 * logged), with their names and scopes, and the ones revoked. Tokens are
 * events of no build request, so every replica on a shared log sees the
 * same ones. A token is created or revoked only inside
 * `EventLog.appendAtomically` (src/tokens/), so a name is live at most once;
 * the fold still keeps the first of two live tokens of one name, as that
 * decision would have.
 */
import { create } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { TokenScope, TokenViewSchema, type BuildEvent, type TokenView } from "../../gen/databuild_pb.ts";
import type { EventCase } from "../build-event.ts";
import { ReadModelStateError, stateObject, type ReadModel } from "../read-model.ts";
import { timestampAtMs } from "../timestamp.ts";

/** What a token may do; each scope includes the ones before it (admin ⊇ build ⊇ read). */
export type Scope = "read" | "build" | "admin";
export const SCOPES: readonly Scope[] = ["read", "build", "admin"];

const PROTO_SCOPES: Readonly<Record<Scope, TokenScope>> = {
  read: TokenScope.READ,
  build: TokenScope.BUILD,
  admin: TokenScope.ADMIN,
};

export function scopeToProto(scope: Scope): TokenScope {
  return PROTO_SCOPES[scope];
}

/** Undefined for UNSPECIFIED and for values this databuild does not know (a newer writer's). */
export function scopeFromProto(scope: TokenScope): Scope | undefined {
  return SCOPES.find((s) => PROTO_SCOPES[s] === scope);
}

/** Whether holding `scopes` grants `needed` (a higher scope grants the lower ones). */
export function grants(scopes: readonly Scope[], needed: Scope): boolean {
  const rank = SCOPES.indexOf(needed);
  return scopes.some((s) => SCOPES.indexOf(s) >= rank);
}

/** Who a live token speaks for: its name is the requester of what it asks. */
export interface Principal {
  readonly name: string;
  readonly scopes: readonly Scope[];
}

export const TOKEN_KINDS: readonly EventCase[] = ["tokenCreated", "tokenRevoked"];

/** One token as the log tells it (plain data: the snapshot stores these). */
interface TokenRecord {
  readonly name: string;
  /** As logged (a newer writer's unknown scopes kept for the list, ignored for access). */
  readonly scopes: readonly TokenScope[];
  readonly hash: string;
  readonly prefix: string;
  readonly createdBy: string;
  readonly createdMs: number;
  revoked: boolean;
  revokedBy: string;
  revokedMs: number;
}

export class TokenBook implements ReadModel {
  readonly name = "tokens";
  readonly version = 1;
  readonly kinds = TOKEN_KINDS;
  /** Every token ever created, in log order, revoked ones included. */
  private records: TokenRecord[] = [];
  /** The live token of each name, and of each hash (derived from `records`). */
  private readonly liveByName = new Map<string, TokenRecord>();
  private readonly liveByHash = new Map<string, { record: TokenRecord; principal: Principal }>();

  apply(event: BuildEvent): void {
    const p = event.event;
    const ms = event.timestamp ? timestampMs(event.timestamp) : 0;
    if (p.case === "tokenCreated") {
      const { name, scopes, tokenHash, createdBy, tokenPrefix } = p.value;
      // Refused by the decision; a log written around it keeps the first (see the module comment).
      if (this.liveByName.has(name) || this.liveByHash.has(tokenHash)) return;
      const record: TokenRecord = {
        name,
        scopes: [...scopes],
        hash: tokenHash,
        prefix: tokenPrefix,
        createdBy,
        createdMs: ms,
        revoked: false,
        revokedBy: "",
        revokedMs: 0,
      };
      this.records.push(record);
      this.index(record);
    } else if (p.case === "tokenRevoked") {
      const record = this.liveByName.get(p.value.name);
      if (!record) return;
      record.revoked = true;
      record.revokedBy = p.value.revokedBy;
      record.revokedMs = ms;
      this.liveByName.delete(record.name);
      this.liveByHash.delete(record.hash);
    }
  }

  saveState(): unknown {
    return { records: this.records };
  }

  restoreState(state: unknown): void {
    const saved = stateObject(this.name, state, ["records"]);
    if (!Array.isArray(saved.records)) throw new ReadModelStateError(this.name, "its saved records are not a list");
    this.records = (saved.records as TokenRecord[]).map((r) => ({ ...r, scopes: [...r.scopes] }));
    this.liveByName.clear();
    this.liveByHash.clear();
    for (const record of this.records) if (!record.revoked) this.index(record);
  }

  /** The principal of the live token whose hash is `hash` (lowercase hex SHA-256), if any. */
  byHash(hash: string): Principal | undefined {
    return this.liveByHash.get(hash)?.principal;
  }

  /** Whether a token named `name` is live (created and not revoked). */
  live(name: string): boolean {
    return this.liveByName.has(name);
  }

  /** The live token named `name`, as the list shows it. */
  liveView(name: string): TokenView | undefined {
    const record = this.liveByName.get(name);
    return record && viewOf(record);
  }

  /** Every token, oldest first, revoked ones included; never a hash. */
  views(): TokenView[] {
    return this.records.map(viewOf);
  }

  /** `views()` with who revoked each revoked token (TokenView has no field for it; "" if live). */
  entries(): { view: TokenView; revokedBy: string }[] {
    return this.records.map((r) => ({ view: viewOf(r), revokedBy: r.revokedBy }));
  }

  private index(record: TokenRecord): void {
    const scopes = record.scopes.map(scopeFromProto).filter((s): s is Scope => s !== undefined);
    this.liveByName.set(record.name, record);
    this.liveByHash.set(record.hash, { record, principal: { name: record.name, scopes } });
  }
}

function viewOf(record: TokenRecord): TokenView {
  return create(TokenViewSchema, {
    name: record.name,
    scopes: [...record.scopes],
    createdBy: record.createdBy,
    createdAt: timestampAtMs(record.createdMs),
    tokenPrefix: record.prefix,
    revoked: record.revoked,
    revokedAt: record.revoked ? timestampAtMs(record.revokedMs) : undefined,
  });
}
