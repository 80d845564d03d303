/**
 * @module The host port: what this host can tell about its processes, the
 * one thing liveness needs besides the log. Asked only about build requests
 * and job runs recorded on this host (their hostname is this one's): a
 * process there is provably gone, stopped or running, which a lease alone
 * cannot tell. The real one reads /proc (proc-host-processes.ts); tests pass
 * a fake, so whom to declare lost is a pure function of the events, the
 * host's answers and the time.
 */

/** What the host tells about one pid at one moment. */
export type ProcessFacts =
  /** No such process, or a zombie: gone. */
  | { readonly exists: false }
  | {
      readonly exists: true;
      /** Stopped (SIGSTOP, a debugger); undefined when the host cannot tell more than that it exists (no /proc). */
      readonly stopped?: boolean;
      /** When it started, in ms since the epoch; undefined when the host cannot tell. */
      readonly startedAtMs?: number;
    };

export interface HostProcesses {
  /** This host's name, as build requests record it (`buildRequestReceived`, `taskLaunchSuccess`). */
  readonly hostname: string;
  /** This process's pid: never declared gone by itself. */
  readonly pid: number;
  /** What the host tells about `pid` now. */
  inspect(pid: number): ProcessFacts;
  /** The environment of `pid` ("NAME=value" entries), or undefined if it cannot be read (gone, not ours, no /proc). */
  environment(pid: number): readonly string[] | undefined;
  /**
   * The processes whose environment holds `entry` ("NAME=value"): a job
   * run's processes carry DATABUILD_JOB_RUN_ID, so they can be found even
   * when the log never got their pid (the launch was not recorded yet).
   */
  withEnvironment(entry: string): number[];
  /** Sends SIGKILL to `pid`, or with `group` to its process group; a process gone meanwhile is no error. */
  kill(pid: number, options?: { readonly group?: boolean }): void;
}
