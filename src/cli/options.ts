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

export function positiveSeconds(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${flag} must be a positive number of seconds, got ${JSON.stringify(value)}`);
    return n;
  };
}
