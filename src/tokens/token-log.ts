/**
 * @module Tokens on the build event log: loading the token book, creating
 * and revoking tokens. Each change is decided inside
 * `EventLog.appendAtomically` on the book as of the commit, so two
 * processes (or service replicas on one PostgreSQL log) creating the same
 * name at once make exactly one token, and a token is revoked once.
 */
import { eventPayload } from "../core/build-event.ts";
import type { EventLog, LoggedEvent } from "../core/event-log.ts";
import { newEvent } from "../core/new-event.ts";
import { scopeToProto, TOKEN_KINDS, TokenBook, type Scope } from "../core/projections/tokens.ts";
import type { BuildEvent, TokenView } from "../gen/databuild_pb.ts";
import { loadReadModel, type LoadOptions } from "../coordination/index.ts";
import { TokenError } from "./token-error.ts";
import { validScopes, validTokenName } from "./token-names.ts";
import { hashToken, newToken, shownPrefix } from "./token-secret.ts";

/** Tokens belong to no build request. */
const NO_BUILD_REQUEST = { buildRequestId: "" };

/** The token book as of now: its snapshot and the token events after it. */
export async function loadTokenBook(log: EventLog, options: Pick<LoadOptions, "note"> = {}): Promise<TokenBook> {
  return (await loadTokenBookAt(log, options)).book;
}

/** The token book and the offset it has folded up to (to follow the log from there). */
export async function loadTokenBookAt(
  log: EventLog,
  options: Pick<LoadOptions, "note"> = {},
): Promise<{ book: TokenBook; cursor: number }> {
  const { model, cursor } = await loadReadModel(log, () => new TokenBook(), options);
  return { book: model, cursor };
}

/**
 * Creates a token named `r.name` with `r.scopes`, logging only its hash.
 * Returns the token (to show once) and its view. TokenError: an invalid
 * name, no scope, or a live token of that name (nothing is written then).
 */
export async function createToken(
  log: EventLog,
  r: { name: string; scopes: readonly Scope[]; createdBy: string },
): Promise<{ token: string; view: TokenView }> {
  const name = validTokenName(r.name);
  const scopes = validScopes(r.scopes);
  const token = newToken();
  const created = newEvent(
    NO_BUILD_REQUEST,
    eventPayload("tokenCreated", {
      name,
      scopes: scopes.map(scopeToProto),
      tokenHash: hashToken(token),
      createdBy: r.createdBy,
      tokenPrefix: shownPrefix(token),
    }),
  );
  const book = await decideOnTokens(log, (book) => {
    if (book.live(name))
      throw new TokenError(
        "name-taken",
        `a token named ${JSON.stringify(name)} exists already: revoke it first, or choose another name`,
      );
    return created;
  });
  return { token, view: book.liveView(name)! };
}

/** Revokes the live token named `name`. TokenError: no such token, or it is revoked already. */
export async function revokeToken(log: EventLog, name: string, revokedBy: string): Promise<TokenView> {
  const revoked = newEvent(NO_BUILD_REQUEST, eventPayload("tokenRevoked", { name, revokedBy }));
  const book = await decideOnTokens(log, (book) => {
    if (book.live(name)) return revoked;
    const known = book.views().some((v) => v.name === name);
    if (known) throw new TokenError("already-revoked", `token ${JSON.stringify(name)} is revoked already`);
    throw new TokenError("not-found", `no token named ${JSON.stringify(name)} (databuild token list shows them)`);
  });
  const views = book.views().filter((v) => v.name === name);
  return views[views.length - 1]!;
}

/**
 * Loads the book, then appends what `decide` makes of it as of the commit
 * (the token events logged meanwhile folded in first); returns the book
 * with that event applied.
 */
async function decideOnTokens(log: EventLog, decide: (book: TokenBook) => BuildEvent): Promise<TokenBook> {
  const { book, cursor } = await loadTokenBookAt(log);
  // A backend may call `decide` again (a retried transaction): fold each event once.
  let folded = cursor;
  const foldNew = (events: readonly LoggedEvent[]) => {
    for (const { offset, event } of events)
      if (offset > folded) {
        book.apply(event);
        folded = offset;
      }
  };
  const outcome = await log.appendAtomically(cursor, { kinds: TOKEN_KINDS }, (events) => {
    foldNew(events);
    const event = decide(book);
    return { append: [event], result: event };
  });
  book.apply(outcome.result);
  return book;
}

/**
 * The token book kept current: loaded, then every token event logged after
 * (by any process or replica) applied as the log's watch delivers it, until
 * `stop()`. What a long-running service checks calls against.
 */
export async function followTokenBook(
  log: EventLog,
  options: Pick<LoadOptions, "note"> = {},
): Promise<{ book: TokenBook; stop: () => void }> {
  const { book, cursor } = await loadTokenBookAt(log, options);
  const stop = log.watch(
    cursor,
    (events) => {
      for (const { event } of events) book.apply(event);
    },
    { kinds: TOKEN_KINDS },
  );
  return { book, stop };
}
