/**
 * @module Parsers for numeric command-line options, with errors that name the flag.
 */
import { InvalidArgumentError, Option } from "commander";
import { DEFAULT_CONFIG_LIMITS, type ConfigLimits } from "../core/job.ts";

export function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${flag} must be a whole number of at least 1, got ${JSON.stringify(value)}`);
    return n;
  };
}

export function nonNegativeInteger(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${flag} must be a whole number (0 or more), got ${JSON.stringify(value)}`);
    return n;
  };
}

export function positiveSeconds(flag: string, bounds: { min?: number; max?: number } = {}): (value: string) => number {
  // Durations travel as uint32 milliseconds: at most about 49 days.
  const { min = 0.001, max = 86_400 } = bounds;
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${flag} must be a positive number of seconds, got ${JSON.stringify(value)}`);
    if (n < min || n > max)
      throw new InvalidArgumentError(`${flag} must be between ${min} and ${max} seconds, got ${JSON.stringify(value)}`);
    return n;
  };
}

/**
 * A size in bytes: a whole number, optionally with a binary unit
 * ("1048576", "512KiB", "64MiB", "1GiB"; "KB"/"MB"/"GB" and "K"/"M"/"G" mean the same).
 */
export function byteSize(flag: string): (value: string) => number {
  const units: Record<string, number> = { "": 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
  return (value) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([KMG])(?:i?B)?|(B))?\s*$/i.exec(value);
    const bytes = m ? Number(m[1]) * units[(m[2] ?? m[3] ?? "").toUpperCase()]! : NaN;
    if (!Number.isSafeInteger(bytes) || bytes < 1)
      throw new InvalidArgumentError(
        `${flag} must be a whole number of bytes of at least 1, optionally with KiB, MiB or GiB (e.g. 64MiB), got ${JSON.stringify(value)}`,
      );
    return bytes;
  };
}

/** The flags every command that plans takes: the config limits for jobs that set none of their own. */
export interface ConfigLimitFlags {
  configTimeout?: number;
  configMaxOutput?: number;
}

/**
 * `--config-timeout`, an option of every command that plans (analyze,
 * build, mermaid, explain): the time limit of config calls of jobs that set
 * none of their own. Read it with `configLimitsOf`.
 */
export function configTimeoutOption(): Option {
  return new Option(
    "--config-timeout <seconds>",
    `time limit of each config call, for jobs that set none (default: ${DEFAULT_CONFIG_LIMITS.timeoutMs / 1000})`,
  ).argParser(positiveSeconds("--config-timeout"));
}

/** `--config-max-output`, beside `--config-timeout`: the stdout cap of config commands of jobs that set none. */
export function configMaxOutputOption(): Option {
  return new Option(
    "--config-max-output <bytes>",
    `most a config command may print on stdout, for jobs that set none, e.g. 512KiB (default: ${DEFAULT_CONFIG_LIMITS.maxOutputBytes / 1024 ** 2}MiB)`,
  ).argParser(byteSize("--config-max-output"));
}

/** The config limits the flags set, for analyze's `configLimits`. */
export function configLimitsOf(flags: ConfigLimitFlags): Partial<ConfigLimits> {
  return {
    timeoutMs: flags.configTimeout === undefined ? undefined : flags.configTimeout * 1000,
    maxOutputBytes: flags.configMaxOutput,
  };
}
