/**
 * @module LISTEN for the notification every commit sends (event-rows.ts):
 * a wake-up hint for this process's watches, so they see another process's
 * appends at once instead of at their next poll. Only a hint: a notification
 * can be lost (the listening connection drops, the server restarts, a writer
 * was told not to send them), and the watches poll anyway, so losing one
 * costs at most a poll interval. The listening connection is opened while
 * some watch runs, is reopened (after a pause) when it drops, never fails
 * anything, and does not keep the process alive on its own.
 */
import type { Client, ClientConfig } from "pg";
import { APPENDED_CHANNEL } from "./event-rows.ts";

/** How long to wait before listening again after the connection dropped or could not be made. */
const RETRY_MS = 1000;

export class AppendListener {
  private client: Client | undefined;
  private connecting: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private wanted = false;

  constructor(
    private readonly newClient: (config: ClientConfig) => Client,
    private readonly config: ClientConfig,
    /** Called on each notification. */
    private readonly onAppended: () => void,
  ) {}

  /** Listens from now on (idempotent). */
  start(): void {
    this.wanted = true;
    if (this.client === undefined && this.connecting === undefined && this.retry === undefined) this.connect();
  }

  /** Stops listening and closes the connection. */
  async stop(): Promise<void> {
    this.wanted = false;
    clearTimeout(this.retry);
    this.retry = undefined;
    await this.connecting;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  /** The server process id of the listening session, for tests that cut it. */
  async backendPid(): Promise<number | undefined> {
    await this.connecting;
    return (this.client as unknown as { processID?: number } | undefined)?.processID;
  }

  private connect(): void {
    const client = this.newClient(this.config);
    const dropped = () => {
      if (this.client !== client) return;
      this.client = undefined;
      void client.end().catch(() => {});
      this.scheduleRetry();
    };
    client.on("error", dropped);
    client.on("end", dropped);
    client.on("notification", () => this.onAppended());
    this.connecting = (async () => {
      try {
        await client.connect();
        await client.query(`LISTEN ${APPENDED_CHANNEL}`);
        // Like the watches' timers, listening alone does not keep the process alive.
        (client as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
        if (!this.wanted) {
          await client.end();
          return;
        }
        this.client = client;
        // Anything committed while not listening was not announced: look now.
        this.onAppended();
      } catch {
        void client.end().catch(() => {});
        this.scheduleRetry();
      } finally {
        this.connecting = undefined;
      }
    })();
  }

  private scheduleRetry(): void {
    if (!this.wanted || this.retry !== undefined) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.wanted && this.client === undefined && this.connecting === undefined) this.connect();
    }, RETRY_MS);
    this.retry.unref();
  }
}
