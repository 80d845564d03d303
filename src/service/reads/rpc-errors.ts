/**
 * @module The read RPCs' errors: ConnectErrors with the standard codes,
 * naming the field or ref at fault (SPEC 3.7).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { refProblem } from "../../core/partition-ref.ts";
import type { PartitionRef } from "../../gen/databuild_pb.ts";

export function invalidArgument(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

export function notFound(message: string): ConnectError {
  return new ConnectError(message, Code.NotFound);
}

/** The ref's string, or invalid_argument naming the field and what is wrong with it. */
export function validRef(ref: PartitionRef | undefined, field: string): string {
  const str = ref?.str ?? "";
  const problem = refProblem(str);
  if (problem) throw invalidArgument(`${field}: malformed partition ref ${JSON.stringify(str)}: ${problem}`);
  return str;
}

/**
 * The one id of `matches` (an id given in full, or the prefix or suffix the
 * CLI accepts): not_found for none, invalid_argument for several.
 */
export function onlyMatch<T>(
  matches: readonly T[],
  idOf: (t: T) => string,
  what: string,
  field: string,
  part: string,
): T {
  if (part === "") throw invalidArgument(`${field} is required`);
  if (matches.length === 0) throw notFound(`no ${what} with id ${JSON.stringify(part)}`);
  if (matches.length > 1)
    throw invalidArgument(
      `${field}: ${what} id ${JSON.stringify(part)} is ambiguous: ${matches.slice(0, 5).map(idOf).join(", ")}`,
    );
  return matches[0]!;
}

/** A page size: 0 is `fallback`, above `max` is invalid_argument. */
export function pageSize(requested: number, fallback: number, max: number): number {
  if (requested === 0) return fallback;
  if (requested > max) throw invalidArgument(`page_size: at most ${max}, got ${requested}`);
  return requested;
}

/** Page tokens are opaque to clients: base64url of what the next page starts after. */
export function encodeToken(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

export function decodeToken(token: string): string {
  const text = Buffer.from(token, "base64url").toString("utf8");
  if (encodeToken(text) !== token)
    throw invalidArgument(`page_token ${JSON.stringify(token)} is not one this service gave`);
  return text;
}
