/**
 * @module What a job run is given where a launcher allocates machines for it
 * (SLURM: `--cpus-per-task`, `--mem`): a job's `resources`, as every graph
 * specification language declares them.
 */

/** A job's declared resources: CPUs and memory per run. */
export interface JobResources {
  /** CPUs one run uses (a whole number, at least 1). */
  readonly cpus?: number;
  /** Memory one run needs, in bytes. */
  readonly memoryBytes?: number;
}

const UNITS: Readonly<Record<string, number>> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * A memory size: a whole number of bytes, or a number with a binary unit
 * ("512MiB", "4GiB", "1.5G"; K, M, G, T with or without "iB" or "B").
 * Returns the bytes, or what is wrong with it.
 */
export function parseMemory(value: unknown): number | string {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value > 0 ? value : `memory ${value} is not a positive whole number of bytes`;
  }
  if (typeof value !== "string") return `memory must be a size such as "4GiB" or a number of bytes`;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:i?B)?|B)?\s*$/i.exec(value);
  const bytes = m ? Math.round(Number(m[1]) * UNITS[(m[2] ?? "").toUpperCase()]!) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    return `memory ${JSON.stringify(value)} is not a size: write a number with KiB, MiB, GiB or TiB (e.g. "4GiB"), or a number of bytes`;
  return bytes;
}

/** What is wrong with a CPU count, if anything. */
export function cpusProblem(value: unknown): string | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 1
    ? undefined
    : `cpus must be a whole number, at least 1 (got ${JSON.stringify(value)})`;
}
