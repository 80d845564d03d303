/**
 * @module The service's errors as the CLI reports them. Exit codes (SPEC 3.4,
 * src/cli/exit-codes.ts): 2 for a call used wrongly or refused (no token,
 * a token without the scope, a bad ref or id: unauthenticated,
 * permission_denied, invalid_argument, not_found), 3 when the service
 * cannot be reached (like a log that cannot be read), 1 otherwise.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { DatabuildError, UsageError } from "../../core/errors.ts";

/** The service at --server could not be reached or is not serving (exit 3). */
export class ServiceUnavailableError extends DatabuildError {
  readonly code = "SERVICE_UNAVAILABLE";
  readonly kind = "failure";
}

/** The service refused the call: no token, or one without the scope (exit 2). */
export class ServiceRefusedError extends DatabuildError {
  readonly code = "SERVICE_REFUSED";
  readonly kind = "usage";
}

/** Any other error the service answered with (exit 1). */
export class ServiceError extends DatabuildError {
  readonly code = "SERVICE_ERROR";
  readonly kind = "failure";
}

export function remoteError(error: ConnectError, url: string, what: string, hasToken: boolean): DatabuildError {
  const said = error.rawMessage;
  switch (error.code) {
    case Code.Unavailable:
      return new ServiceUnavailableError(`cannot reach the service at ${url} (${what}): ${said}`, { cause: error });
    case Code.Unauthenticated:
      return new ServiceRefusedError(
        hasToken
          ? `the service at ${url} did not accept the token (${what}): ${said}; check --token or $DATABUILD_TOKEN (revoked? mistyped?)`
          : `the service at ${url} needs a token (${what}): pass --token TOKEN or set $DATABUILD_TOKEN (databuild token create --scope read|build|admin)`,
        { cause: error },
      );
    case Code.PermissionDenied:
      return new ServiceRefusedError(
        `the service at ${url} refused ${what}: ${said} (the token given lacks the scope this call needs: see databuild token list)`,
        { cause: error },
      );
    case Code.InvalidArgument:
    case Code.NotFound:
      return new UsageError(`${said} (${what} at ${url})`, { cause: error });
    default:
      return new ServiceError(`the service at ${url} failed ${what}: ${said} [${Code[error.code]}]`, { cause: error });
  }
}
