/**
 * @module `databuild token create|list|revoke` (SPEC 3.7): the bearer tokens
 * of the service, kept in the build event log as events (only each token's
 * hash). `create` prints the token once, alone on stdout, so a script can
 * capture it (`TOKEN=$(databuild token create ...)`); everything else goes
 * to stderr. docs/tokens.md.
 */
import { toJsonString } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError, type Command } from "commander";
import { TokenViewSchema, type TokenView } from "../../gen/databuild_pb.ts";
import {
  createToken,
  loadTokenBook,
  NAME_RULE,
  parseScope,
  revokeToken,
  scopeFromProto,
  SCOPES,
  TokenError,
  type Scope,
} from "../../tokens/index.ts";
import type { CommandContext } from "../context.ts";
import { requester } from "../requester.ts";

export function registerToken(program: Command, context: () => CommandContext): void {
  const token = program
    .command("token")
    .description("create, list and revoke the bearer tokens of databuild serve (only their hashes are kept)")
    .addHelpText(
      "after",
      `\nScopes: read (every read call), build (RequestBuild, CancelBuildRequest, Invalidate; and reads),\n` +
        `admin (trigger changes, token administration; and everything else). Tokens live in the build\n` +
        `event log, so every service replica on the log knows them. See docs/tokens.md.`,
    );

  token
    .command("create")
    .description("make a token and print it, once, alone on stdout")
    .requiredOption("--name <name>", `the token's name, recorded as the requester of what it asks (${NAME_RULE})`)
    .requiredOption(
      "--scope <scope>",
      `what it may do: ${SCOPES.join(", ")} (repeatable; admin includes build, build includes read)`,
      collectScope,
    )
    .addHelpText(
      "after",
      "\nThe token is printed once and never stored: only its SHA-256 hash and first characters are\n" +
        "logged. Send it as 'Authorization: Bearer TOKEN' (gRPC: the authorization metadata).\n" +
        "A name is unique among tokens not revoked. Exit codes: 0 created; 2 a bad name or scope,\n" +
        "or a live token has the name.",
    )
    .action(async (options: { name: string; scope: Scope[] }) => {
      const ctx = context();
      const log = await ctx.openEventLog();
      try {
        const made = await createToken(log, { name: options.name, scopes: options.scope, createdBy: localUser() });
        ctx.out(`${made.token}\n`);
        ctx.io.stderr.write(
          `token ${made.view.name} created (scopes: ${scopeNames(made.view).join(", ")}) in ${ctx.shownEventLogLocation()}; ` +
            `it is shown once: keep it\n`,
        );
      } finally {
        await log.close();
      }
    });

  token
    .command("list")
    .description("list the tokens: name, scopes, who made them and when, prefix, revoked (never a token or hash)")
    .option("--json", "one TokenView per line as proto3 JSON")
    .action(async (options: { json?: boolean }) => {
      const ctx = context();
      const log = await ctx.openEventLog({ mustExist: true, readOnly: true });
      try {
        const book = await loadTokenBook(log, { note: ctx.note });
        const entries = book.entries();
        if (options.json) {
          for (const { view } of entries) ctx.out(toJsonString(TokenViewSchema, view) + "\n");
          return;
        }
        if (entries.length === 0) {
          ctx.io.stderr.write(`no tokens in ${ctx.shownEventLogLocation()} (databuild token create makes one)\n`);
          return;
        }
        ctx.out(formatTable(entries));
      } finally {
        await log.close();
      }
    });

  token
    .command("revoke")
    .description("revoke a token: every call with it is refused from now on")
    .argument("<name>", "the token's name (databuild token list)")
    .addHelpText("after", "\nExit codes: 0 revoked; 2 no live token has the name.")
    .action(async (name: string) => {
      const ctx = context();
      const log = await ctx.openEventLog({ mustExist: true });
      try {
        const view = await revokeToken(log, name, localUser());
        ctx.io.stderr.write(`token ${view.name} revoked in ${ctx.shownEventLogLocation()}\n`);
      } finally {
        await log.close();
      }
    });
}

/** commander's parser of one --scope: checked at once, so a bad one is a usage error naming the valid ones. */
function collectScope(value: string, previous: Scope[] | undefined): Scope[] {
  try {
    return [...(previous ?? []), parseScope(value)];
  } catch (error) {
    if (error instanceof TokenError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

/** Who made or revoked a token from this shell: user@host (the pid says nothing later). */
function localUser(): string {
  return requester().replace(/ pid \d+$/, "");
}

function scopeNames(view: TokenView): string[] {
  return view.scopes.map((s) => scopeFromProto(s) ?? `unknown (${s})`);
}

function formatTable(entries: readonly { view: TokenView; revokedBy: string }[]): string {
  const rows = entries.map(({ view, revokedBy }) => [
    view.name,
    scopeNames(view).join(","),
    `${view.tokenPrefix}…`,
    view.createdAt ? timestampDate(view.createdAt).toISOString() : "?",
    view.createdBy,
    view.revoked
      ? `revoked ${view.revokedAt ? timestampDate(view.revokedAt).toISOString() : "?"} by ${revokedBy}`
      : "live",
  ]);
  const header = ["NAME", "SCOPES", "PREFIX", "CREATED", "BY", "STATUS"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
    .concat("\n");
}
