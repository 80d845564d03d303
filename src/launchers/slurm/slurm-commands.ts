/**
 * @module SLURM's command line, the one way the launcher talks to a cluster:
 * `sbatch` submits, `squeue` tells the states, `scontrol show job` the
 * details of one that ended, `scancel` cancels. No daemon API, no
 * accounting database (often off: `sacct` may not answer).
 */
import { execFile } from "node:child_process";

/** A job's state as squeue tells it (`%T`: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, ...). */
export interface SlurmJobState {
  readonly state: string;
  /** Why it waits or ended (`%r`: Priority, Resources, NonZeroExitCode, ...). */
  readonly reason: string;
}

/** What `scontrol show job` adds for a job that ended. */
export interface SlurmJobDetails {
  /** "exit code:signal", e.g. "0:9" (killed by SIGKILL) or "1:0". */
  readonly exitCode?: string;
  readonly nodes?: string;
}

export interface SlurmCommands {
  /** Submits `script` with sbatch `options`; resolves with the job id. Rejects with sbatch's message. */
  submit(script: string, options: readonly string[]): Promise<string>;
  /** The states of the jobs SLURM still knows (a job it forgot is missing from the map). */
  states(jobIds: readonly string[]): Promise<Map<string, SlurmJobState>>;
  details(jobId: string): Promise<SlurmJobDetails | undefined>;
  /** `batch`: SIGTERM to the batch script only (it stops the wrapper, which stops the job); `all`: cancel the job. */
  cancel(jobId: string, how: "batch" | "all"): Promise<void>;
}

/** A SLURM command that failed: its name and what it said. */
export class SlurmCommandError extends Error {}

/** squeue's job ids per call, well within any argument-length limit. */
const IDS_PER_QUERY = 500;
const COMMAND_TIMEOUT_MS = 60_000;

/** The commands on PATH (or under `binDir`). */
export class SlurmCli implements SlurmCommands {
  constructor(private readonly binDir?: string) {}

  private program(name: string): string {
    return this.binDir ? `${this.binDir}/${name}` : name;
  }

  private run(name: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      execFile(
        this.program(name),
        args,
        { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error && typeof error.code !== "number") {
            reject(new SlurmCommandError(`${name}: ${error.message}`));
            return;
          }
          resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
        },
      );
    });
  }

  async submit(script: string, options: readonly string[]): Promise<string> {
    const { code, stdout, stderr } = await this.run("sbatch", ["--parsable", ...options, script]);
    // --parsable: "JOBID" or "JOBID;CLUSTER".
    const id = /^(\d+)(?:;\S+)?\s*$/m.exec(stdout)?.[1];
    if (code !== 0 || id === undefined)
      throw new SlurmCommandError(
        `sbatch ${code !== 0 ? `exited with code ${code}` : "printed no job id"}: ${(stderr || stdout).trim()}`,
      );
    return id;
  }

  async states(jobIds: readonly string[]): Promise<Map<string, SlurmJobState>> {
    const states = new Map<string, SlurmJobState>();
    for (let i = 0; i < jobIds.length; i += IDS_PER_QUERY) {
      const ids = jobIds.slice(i, i + IDS_PER_QUERY);
      const { code, stdout, stderr } = await this.run("squeue", [
        "--noheader",
        "--states=all",
        "--format=%i|%T|%r",
        `--jobs=${ids.join(",")}`,
      ]);
      // Every id unknown (ended long ago, or never was): squeue says so and exits 1.
      if (code !== 0 && /Invalid job id/i.test(stderr)) continue;
      if (code !== 0) throw new SlurmCommandError(`squeue exited with code ${code}: ${stderr.trim()}`);
      for (const line of stdout.split("\n")) {
        const [id, state, reason] = line.trim().split("|");
        if (id && state) states.set(id, { state, reason: reason ?? "" });
      }
    }
    return states;
  }

  async details(jobId: string): Promise<SlurmJobDetails | undefined> {
    const { code, stdout } = await this.run("scontrol", ["--oneliner", "show", "job", jobId]);
    if (code !== 0) return undefined;
    const field = (name: string) => new RegExp(`(?:^|\\s)${name}=(\\S+)`).exec(stdout)?.[1];
    return { exitCode: field("ExitCode"), nodes: field("NodeList") };
  }

  async cancel(jobId: string, how: "batch" | "all"): Promise<void> {
    const args = how === "batch" ? ["--batch", "--signal=TERM", jobId] : [jobId];
    const { code, stderr } = await this.run("scancel", args);
    // A job that already ended cannot be signalled: nothing to do.
    if (code !== 0 && !/already completed|Invalid job id|not running|pending/i.test(stderr))
      throw new SlurmCommandError(`scancel ${args.join(" ")} exited with code ${code}: ${stderr.trim()}`);
  }
}
