/**
 * @module The CLI as a client of `databuild serve` (`--server URL`): the
 * generated Connect client over HTTP/1.1, with the token as
 * `Authorization: Bearer`, and the service's errors mapped to the CLI's
 * messages and exit codes (remote-errors.ts).
 */
import { ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { DatabuildService } from "../../gen/databuild_pb.ts";
import { UsageError } from "../../core/errors.ts";
import { remoteError } from "./remote-errors.ts";

export type ServiceClient = Client<typeof DatabuildService>;

export interface RemoteService {
  /** The service's URL as given (--server or $DATABUILD_SERVER). */
  readonly url: string;
  readonly client: ServiceClient;
  /** Runs a call, turning its ConnectError into the CLI's error for it. */
  call<T>(what: string, run: (client: ServiceClient) => Promise<T>): Promise<T>;
  /** The same for a stream: each message, in order. */
  stream<T>(what: string, open: (client: ServiceClient) => AsyncIterable<T>): AsyncIterable<T>;
}

export function remoteService(url: string, token: string | undefined): RemoteService {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new UsageError(`--server ${JSON.stringify(url)} is not a URL (e.g. http://localhost:8080)`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:")
    throw new UsageError(`--server ${JSON.stringify(url)}: the URL must start with http:// or https://`);
  const bearer: Interceptor = (next) => (request) => {
    if (token) request.header.set("Authorization", `Bearer ${token}`);
    return next(request);
  };
  const client = createClient(
    DatabuildService,
    createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [bearer] }),
  );
  const hasToken = token !== undefined && token !== "";
  return {
    url,
    client,
    async call(what, run) {
      try {
        return await run(client);
      } catch (error) {
        throw mapped(error, url, what, hasToken);
      }
    },
    async *stream(what, open) {
      try {
        yield* open(client);
      } catch (error) {
        throw mapped(error, url, what, hasToken);
      }
    },
  };
}

function mapped(error: unknown, url: string, what: string, hasToken: boolean): unknown {
  if (!(error instanceof ConnectError) && !(error instanceof Error)) return error;
  return remoteError(ConnectError.from(error), url, what, hasToken);
}
