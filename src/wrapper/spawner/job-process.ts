/**
 * @module The spawner port: how ProcessJobRunner starts one job process and hears what it does,
 * whether the spawn happens in databuild's own process or in a persistent spawner process.
 */

/** What to run: `argv[0]` is looked up on the job's PATH when it has no slash, as execvp does. */
export interface JobProcessSpec {
  readonly argv: readonly string[];
  /** Absolute. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Written to the job's stdin, which is then closed; a job that does not read it is fine (EPIPE). */
  readonly stdin: string;
}

/**
 * What a job process does, in the order of Node's ChildProcess events: either
 * `spawnFailed` alone, or `spawned`, output, `exit` (the process ended), and
 * `close` (it ended and both its pipes were closed) or `lost`.
 */
export interface JobProcessEvents {
  spawned(pid: number): void;
  /** ENOENT, EACCES, a missing cwd...: an error with the errno name in `code`. */
  spawnFailed(error: NodeJS.ErrnoException): void;
  stdout(chunk: Uint8Array): void;
  stderr(chunk: Uint8Array): void;
  exit(): void;
  close(code: number | null, signal: NodeJS.Signals | null): void;
  /** The spawner died after the spawn, so the outcome is unknowable; the job's group was SIGKILLed. */
  lost(reason: string): void;
}

export interface JobProcess {
  /** Sends `signal` to the job's process group (ESRCH ignored); only after `spawned`. */
  killGroup(signal: NodeJS.Signals): void;
  /** Closes databuild's ends of the job's stdout and stderr (the drain rule); `close` follows once it exited. */
  closePipes(): void;
}

export interface Spawner {
  /** Events may come before `launch` returns (the in-process spawner spawns synchronously). */
  launch(spec: JobProcessSpec, events: JobProcessEvents): JobProcess;
  /** Stops the spawner process, if any, ending the jobs it still runs. Later launches restart it. */
  close(): void;
}
