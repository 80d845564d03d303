/**
 * @module The error classes databuild throws for genuine faults. Each has a
 * stable `code`; the CLI maps codes to exit codes in one table
 * (src/cli/exit-codes.ts). Expected outcomes of a build (a job failing) are
 * events, not errors.
 */

/** What kind of fault an error is: the caller's input, or the work itself. */
export type ErrorKind = "usage" | "failure";

export abstract class DatabuildError extends Error {
  abstract readonly code: string;
  abstract readonly kind: ErrorKind;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The command was used wrongly in a way no more specific error describes. */
export class UsageError extends DatabuildError {
  readonly code: string = "USAGE";
  readonly kind = "usage";
}

/** A partition ref is empty, has whitespace or control characters. */
export class MalformedRefError extends DatabuildError {
  readonly code = "MALFORMED_REF";
  readonly kind = "usage";
  constructor(
    readonly ref: string,
    readonly problem: string,
  ) {
    super(`malformed partition ref ${JSON.stringify(ref)}: ${problem}`);
  }
}

/** A graph definition (GSL module or manifest) is invalid. */
export class GraphDefinitionError extends DatabuildError {
  readonly code = "GRAPH_DEFINITION";
  readonly kind = "usage";
  constructor(
    message: string,
    /** The file at fault, when known. */
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(file ? `${file}: ${message}` : message, options);
  }
}

/** Two jobs' output patterns can produce the same ref. */
export class AmbiguousPatternError extends GraphDefinitionError {
  constructor(
    readonly jobs: readonly [string, string],
    readonly patterns: readonly [string, string],
    readonly example: string,
    file?: string,
  ) {
    super(
      `jobs "${jobs[0]}" and "${jobs[1]}" can both produce the same partition: ` +
        `pattern ${JSON.stringify(patterns[0])} and pattern ${JSON.stringify(patterns[1])} ` +
        `both match ${JSON.stringify(example)}. Each partition must have exactly one producing job; ` +
        `make one of the patterns more specific.`,
      file,
    );
  }
}

/** Base of the errors that make an analysis fail (exit code 1). */
export abstract class AnalyzeError extends DatabuildError {
  readonly kind = "failure";
}

/** No job's output patterns match a ref. */
export class UnmatchedRefError extends AnalyzeError {
  readonly code = "UNMATCHED_REF";
  constructor(
    readonly refs: readonly string[],
    readonly patterns: readonly { job: string; pattern: string }[],
    /** The job whose config asked for the refs as inputs, if any. */
    readonly neededBy?: string,
  ) {
    const shown = refs.slice(0, 5).map((r) => JSON.stringify(r));
    const more = refs.length > 5 ? ` and ${refs.length - 5} more` : "";
    const who = neededBy ? ` (needed by job "${neededBy}")` : "";
    const listing = patterns.map((p) => `  ${p.pattern}  (job ${p.job})`).join("\n");
    super(
      `no job produces partition ${shown.join(", ")}${more}${who}. Output patterns in this graph:\n` +
        (listing || "  (the graph has no jobs)"),
    );
  }
}

/** Two jobs match the same concrete ref. */
export class AmbiguousRefError extends AnalyzeError {
  readonly code = "AMBIGUOUS_REF";
  constructor(
    readonly ref: string,
    readonly jobs: readonly string[],
  ) {
    super(`partition ${JSON.stringify(ref)} is produced by more than one job: ${jobs.map((j) => `"${j}"`).join(", ")}`);
  }
}

/** MATERIALIZE inputs form a cycle. */
export class CycleError extends AnalyzeError {
  readonly code = "CYCLE";
  constructor(
    /** The refs along the cycle, the first repeated at the end. */
    readonly cycle: readonly string[],
  ) {
    super(`dependency cycle: ${cycle.join(" -> ")} (each ref needs the next as a MATERIALIZE input)`);
  }
}

/** A job's config step failed or returned configs that break the contract. */
export class ConfigError extends AnalyzeError {
  readonly code = "CONFIG_FAILED";
  constructor(
    readonly job: string,
    readonly refs: readonly string[],
    readonly problem: string,
    /** The tail of the config command's stderr, for executable jobs. */
    readonly stderr = "",
    options?: { cause?: unknown },
  ) {
    const shown = refs.slice(0, 5).join(", ") + (refs.length > 5 ? ` and ${refs.length - 5} more` : "");
    const tail = stderr.trim() ? `\n--- stderr of job "${job}" config ---\n${stderr.trimEnd()}` : "";
    super(`config of job "${job}" failed for ${shown}: ${problem}${tail}`, options);
  }
}

/** True when `e` is a databuild error, also after crossing a process boundary. */
export function isDatabuildError(e: unknown): e is DatabuildError {
  return e instanceof DatabuildError;
}
