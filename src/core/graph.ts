/**
 * @module The graph model: a set of jobs plus lookup (SPEC 2). Building a
 * Graph checks that labels are unique and that no two jobs' output patterns
 * can match the same ref.
 */
import { AmbiguousPatternError, AmbiguousRefError, GraphDefinitionError, UnmatchedRefError } from "./errors.ts";
import { wantedPartition, type JobDefinition, type WantedPartition } from "./job.ts";
import { patternsIntersect, type OutputPattern } from "./output-pattern.ts";
import { triggerProblems, type TriggerDefinition } from "./triggers.ts";

interface PatternEntry {
  readonly job: JobDefinition;
  readonly pattern: OutputPattern;
}

export interface Graph {
  readonly label: string;
  readonly jobs: readonly JobDefinition[];
  /** Its schedules and sensors (SPEC 3.8; src/core/triggers.ts), checked against its jobs. */
  readonly triggers: readonly TriggerDefinition[];
  /** The file the graph was loaded from, when it came from one. */
  readonly file?: string;
  job(label: string): JobDefinition | undefined;
  /**
   * Maps refs to the jobs that produce them. Throws UnmatchedRefError
   * (listing every pattern) or AmbiguousRefError.
   */
  lookup(refs: readonly string[], neededBy?: string): Map<JobDefinition, WantedPartition[]>;
  /** The job whose patterns match `ref`, or undefined. */
  producerOf(ref: string): (WantedPartition & { job: JobDefinition }) | undefined;
  /**
   * The job and its first pattern that match `ref` (what producerOf returns,
   * without making an object: the planner looks up millions of refs), or
   * undefined. Throws AmbiguousRefError. `likelyJob`: the label of the job
   * that probably produces it (the one that built it last): its patterns are
   * tried first, and when one matches no other job's can (patterns of two
   * jobs never intersect), so the staleness walk of a whole catalog skips
   * the search.
   */
  matchOf(
    ref: string,
    likelyJob?: string,
  ): { readonly job: JobDefinition; readonly pattern: OutputPattern } | undefined;
}

/** Builds a graph, rejecting duplicate labels, ambiguous patterns and triggers that do not fit its jobs. */
export function createGraph(
  label: string,
  jobs: readonly JobDefinition[],
  file?: string,
  triggers: readonly TriggerDefinition[] = [],
): Graph {
  const byLabel = new Map<string, JobDefinition>();
  for (const job of jobs) {
    if (byLabel.has(job.label)) throw new GraphDefinitionError(`two jobs are labelled "${job.label}"`, file);
    if (job.outputs.length === 0) {
      throw new GraphDefinitionError(`job "${job.label}" declares no output patterns`, file);
    }
    byLabel.set(job.label, job);
  }
  const entries: PatternEntry[] = jobs.flatMap((job) => job.outputs.map((pattern) => ({ job, pattern })));
  for (let i = 0; i < entries.length; i++) {
    for (let j = i + 1; j < entries.length; j++) {
      const a = entries[i]!;
      const b = entries[j]!;
      if (a.job === b.job) continue;
      const example = patternsIntersect(a.pattern, b.pattern);
      if (example !== undefined) {
        throw new AmbiguousPatternError(
          [a.job.label, b.job.label],
          [a.pattern.source, b.pattern.source],
          example,
          file,
        );
      }
    }
  }
  const index = new PatternIndex(entries);
  const allPatterns = entries.map((e) => ({ job: e.job.label, pattern: e.pattern.source }));

  // The pattern that last matched, when it is its job's only one: refs come in runs of one job
  // (a round's inputs), and no other job's pattern can match what it matches (checked above).
  let last: PatternEntry | undefined;
  const entriesOf = new Map<string, PatternEntry[]>();
  for (const entry of entries) {
    const of = entriesOf.get(entry.job.label);
    if (of) of.push(entry);
    else entriesOf.set(entry.job.label, [entry]);
  }
  const matchOf = (ref: string, likelyJob?: string): PatternEntry | undefined => {
    if (likelyJob !== undefined) {
      const likely = entriesOf.get(likelyJob);
      if (likely) for (const entry of likely) if (entry.pattern.matches(ref)) return entry;
    }
    if (last?.pattern.matches(ref)) return last;
    let found: PatternEntry | undefined;
    for (const entry of index.candidates(ref)) {
      if (!entry.pattern.matches(ref)) continue;
      if (found && found.job !== entry.job) throw new AmbiguousRefError(ref, [found.job.label, entry.job.label]);
      if (!found) {
        found = entry;
        last = entry.job.outputs.length === 1 ? entry : undefined;
      }
    }
    return found;
  };
  const producerOf = (ref: string) => {
    const entry = matchOf(ref);
    return entry && Object.assign(wantedPartition(ref, entry.pattern), { job: entry.job });
  };

  const graph: Graph = {
    label,
    jobs,
    triggers,
    file,
    job: (l) => byLabel.get(l),
    producerOf,
    matchOf,
    lookup(refs, neededBy) {
      const result = new Map<JobDefinition, WantedPartition[]>();
      const unmatched: string[] = [];
      for (const ref of refs) {
        const hit = producerOf(ref);
        if (!hit) {
          unmatched.push(ref);
          continue;
        }
        const list = result.get(hit.job);
        const wanted = wantedPartition(ref, hit.pattern);
        if (list) list.push(wanted);
        else result.set(hit.job, [wanted]);
      }
      if (unmatched.length > 0) throw new UnmatchedRefError(unmatched, allPatterns, neededBy);
      return result;
    },
  };
  const [problem] = triggerProblems(triggers, graph, patternsIntersect);
  if (problem) throw new GraphDefinitionError(problem.problem, problem.definedAt ?? file);
  return graph;
}

const FEW_SEGMENTS = 8;

/**
 * Narrows the patterns worth trying for a ref: patterns whose literal prefix
 * contains a whole first segment are indexed by that segment; the others are
 * always tried.
 */
class PatternIndex {
  private readonly bySegment = new Map<string, PatternEntry[]>();
  /** The segments as a list, when there are few. */
  private readonly few: [string, PatternEntry[]][] | undefined;
  private readonly unindexed: PatternEntry[] = [];

  constructor(entries: readonly PatternEntry[]) {
    for (const entry of entries) {
      const prefix = entry.pattern.literalPrefix;
      const slash = prefix.indexOf("/");
      const whole = entry.pattern.paramNames.length === 0 ? entry.pattern.source : undefined;
      const segment =
        slash !== -1 ? prefix.slice(0, slash) : whole !== undefined && !whole.includes("/") ? whole : undefined;
      if (segment === undefined) this.unindexed.push(entry);
      else {
        const list = this.bySegment.get(segment);
        if (list) list.push(entry);
        else this.bySegment.set(segment, [entry]);
      }
    }
    this.few = this.bySegment.size <= FEW_SEGMENTS ? [...this.bySegment] : undefined;
  }

  candidates(ref: string): PatternEntry[] {
    const slash = ref.indexOf("/");
    let indexed: PatternEntry[] | undefined;
    if (this.few) {
      // A handful of segments: compare in place rather than slice the ref and hash the slice.
      const length = slash === -1 ? ref.length : slash;
      for (const [segment, entries] of this.few)
        if (segment.length === length && ref.startsWith(segment)) {
          indexed = entries;
          break;
        }
    } else indexed = this.bySegment.get(slash === -1 ? ref : ref.slice(0, slash));
    if (!indexed) return this.unindexed;
    return this.unindexed.length === 0 ? indexed : [...indexed, ...this.unindexed];
  }
}
