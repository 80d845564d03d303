/**
 * @module Parsers for numeric command-line options, with errors that name the flag.
 */
import { InvalidArgumentError } from "commander";

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
