/**
 * @module Test support: a `databuild` process that runs alongside the test
 * (a worker, a build to kill), whose output the test can wait on.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { DATABUILD_BIN, shellEnv, type CliResult } from "./run-cli.ts";

export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Settles when the process has exited, with what it printed. */
  readonly done: Promise<CliResult>;
  /** stdout and stderr so far, interleaved as they came. */
  output(): string;
  /** Resolves once the output matches `pattern`; rejects (with the output) after `timeoutMs` or at exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export interface CliProcessOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Runs `databuild` under another program: e.g. ["ip", "netns", "exec", "h1"]. */
  readonly under?: readonly string[];
}

const running = new Set<ChildProcess>();

/** Starts `databuild ...args` in the background. */
export function startCli(args: readonly string[], options: CliProcessOptions): CliProcess {
  const argv = [...(options.under ?? []), process.execPath, DATABUILD_BIN, ...args];
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: options.cwd,
    env: shellEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let stdout = "";
  let stderr = "";
  let both = "";
  const waiters = new Set<() => void>();
  const took = (text: string) => {
    both += text;
    for (const wake of waiters) wake();
  };
  child.stdout!.setEncoding("utf8").on("data", (d: string) => ((stdout += d), took(d)));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => ((stderr += d), took(d)));
  let exited = false;
  const done = new Promise<CliResult>((resolve) =>
    child.on("close", (code) => {
      exited = true;
      running.delete(child);
      for (const wake of waiters) wake();
      resolve({ code, stdout, stderr });
    }),
  );
  return {
    child,
    pid: child.pid ?? 0,
    done,
    output: () => both,
    waitFor: (pattern, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`timed out waiting for ${pattern}; output:\n${both}`)),
          timeoutMs,
        );
        const finish = (error?: Error, match?: RegExpMatchArray) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve(match!);
        };
        const check = () => {
          const match = both.match(pattern);
          if (match) finish(undefined, match);
          else if (exited) finish(new Error(`exited before printing ${pattern}; output:\n${both}`));
        };
        waiters.add(check);
        check();
      }),
  };
}

/** Kills every process `startCli` started that still runs (an afterEach). */
export function killCliProcesses(): void {
  for (const child of running) if (child.exitCode === null) child.kill("SIGKILL");
  running.clear();
}
