/**
 * @module Output patterns: "daily/category={category}/date={date}". A
 * parameter `{name}` matches one or more characters other than "/"; a ref
 * must match the whole pattern. Patterns compile to a regex for matching and
 * to a small automaton for deciding whether two patterns can match the same
 * ref (graph load-time ambiguity check).
 */

/** A literal run or a named parameter. */
export type PatternToken = { kind: "literal"; text: string } | { kind: "param"; name: string };

export interface OutputPattern {
  readonly source: string;
  readonly tokens: readonly PatternToken[];
  readonly paramNames: readonly string[];
  /** The text before the first parameter (used to index patterns). */
  readonly literalPrefix: string;
  /** Returns the parameters when `ref` matches the whole pattern. */
  match(ref: string): Record<string, string> | undefined;
  /** Whether `ref` matches the whole pattern (`match` without making the parameters). */
  matches(ref: string): boolean;
  /** Substitutes parameters into the pattern. */
  format(params: Record<string, string>): string;
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses a pattern. Returns the pattern, or a message saying what is wrong
 * with it (unnamed, duplicate, adjacent or malformed parameters).
 */
export function parseOutputPattern(source: string): OutputPattern | string {
  if (source.length === 0) return "the pattern is empty";
  if (/\s/.test(source)) return "the pattern contains whitespace";
  const tokens: PatternToken[] = [];
  const names: string[] = [];
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf("{", i);
    const close = source.indexOf("}", i);
    if (close !== -1 && (open === -1 || close < open)) return `unmatched "}" at position ${close}`;
    if (open === -1) {
      tokens.push({ kind: "literal", text: source.slice(i) });
      break;
    }
    if (open > i) tokens.push({ kind: "literal", text: source.slice(i, open) });
    const end = source.indexOf("}", open);
    if (end === -1) return `unclosed "{" at position ${open}`;
    const name = source.slice(open + 1, end);
    if (name.length === 0) return `unnamed parameter "{}" at position ${open}; name it, e.g. {date}`;
    if (!PARAM_NAME.test(name))
      return `parameter name ${JSON.stringify(name)} must be an identifier ([A-Za-z_][A-Za-z0-9_]*)`;
    if (names.includes(name)) return `duplicate parameter {${name}}`;
    const previous = tokens[tokens.length - 1];
    if (previous?.kind === "param") {
      return `parameters {${previous.name}} and {${name}} are adjacent, so a ref could split between them in more than one way; put a literal between them`;
    }
    names.push(name);
    tokens.push({ kind: "param", name });
    i = end + 1;
  }
  return compile(source, tokens, names);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function compile(source: string, tokens: PatternToken[], paramNames: string[]): OutputPattern {
  const regex = new RegExp(
    "^" + tokens.map((t) => (t.kind === "literal" ? escapeRegex(t.text) : "([^/]+)")).join("") + "$",
  );
  const first = tokens[0];
  const literalPrefix = first?.kind === "literal" ? first.text : "";
  const isLiteral = paramNames.length === 0;
  // Every parameter ends its segment (it is last, or followed by "/"): then a
  // ref matches by string comparison alone, which is several times cheaper
  // than a regex at hundreds of thousands of refs. Other shapes use the regex.
  const segmentWise = tokens.every(
    (t, i) =>
      t.kind === "literal" || i === tokens.length - 1 || (tokens[i + 1] as { text: string }).text.startsWith("/"),
  );
  return {
    source,
    tokens,
    paramNames,
    literalPrefix,
    match(ref) {
      if (isLiteral) return ref === source ? {} : undefined;
      if (segmentWise) return matchBySegments(tokens, ref);
      const m = regex.exec(ref);
      if (!m) return undefined;
      const params: Record<string, string> = {};
      for (let k = 0; k < paramNames.length; k++) params[paramNames[k]!] = m[k + 1]!;
      return params;
    },
    matches(ref) {
      if (isLiteral) return ref === source;
      if (segmentWise) return matchesBySegments(tokens, ref);
      return regex.test(ref);
    },
    format(params) {
      return tokens
        .map((t) => {
          if (t.kind === "literal") return t.text;
          const value = params[t.name];
          if (value === undefined) throw new Error(`pattern ${source}: no value for {${t.name}}`);
          return value;
        })
        .join("");
    },
  };
}

/** Matches a pattern whose parameters each run to the next "/" or the end. */
function matchBySegments(tokens: readonly PatternToken[], ref: string): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  let pos = 0;
  for (const token of tokens) {
    if (token.kind === "literal") {
      if (!ref.startsWith(token.text, pos)) return undefined;
      pos += token.text.length;
    } else {
      let end = ref.indexOf("/", pos);
      if (end === -1) end = ref.length;
      if (end === pos) return undefined;
      params[token.name] = ref.slice(pos, end);
      pos = end;
    }
  }
  return pos === ref.length ? params : undefined;
}

/** matchBySegments without the parameters. */
function matchesBySegments(tokens: readonly PatternToken[], ref: string): boolean {
  let pos = 0;
  for (const token of tokens) {
    if (token.kind === "literal") {
      if (!ref.startsWith(token.text, pos)) return false;
      pos += token.text.length;
    } else {
      let end = ref.indexOf("/", pos);
      if (end === -1) end = ref.length;
      if (end === pos) return false;
      pos = end;
    }
  }
  return pos === ref.length;
}

// --- Intersection -----------------------------------------------------------
// Each pattern becomes a sequence of elements: a specific character, ANY (one
// character other than "/") or ANY* (zero or more of them); {p} is ANY ANY*.
// Two patterns intersect when the product automaton reaches (end, end); a BFS
// over position pairs also yields a witness ref for the error message.

type Element = { kind: "char"; ch: string } | { kind: "any" } | { kind: "star" };

function elements(pattern: OutputPattern): Element[] {
  const out: Element[] = [];
  for (const t of pattern.tokens) {
    if (t.kind === "literal") for (const ch of t.text) out.push({ kind: "char", ch });
    else out.push({ kind: "any" }, { kind: "star" });
  }
  return out;
}

/**
 * Returns a ref matched by both patterns, or undefined when no ref can match
 * both.
 */
export function patternsIntersect(a: OutputPattern, b: OutputPattern): string | undefined {
  const ea = elements(a);
  const eb = elements(b);
  const key = (i: number, j: number) => i * (eb.length + 1) + j;
  const seen = new Map<number, { from: number; ch: string } | null>();
  const queue: [number, number][] = [];
  const visit = (i: number, j: number, from: number | null, ch: string) => {
    const k = key(i, j);
    if (seen.has(k)) return;
    seen.set(k, from === null ? null : { from, ch });
    queue.push([i, j]);
  };
  visit(0, 0, null, "");
  for (let q = 0; q < queue.length; q++) {
    const [i, j] = queue[q]!;
    const here = key(i, j);
    if (i === ea.length && j === eb.length) return witness(seen, here);
    const x = ea[i];
    const y = eb[j];
    // A star may match nothing: step past it without consuming.
    if (x?.kind === "star") visit(i + 1, j, here, "");
    if (y?.kind === "star") visit(i, j + 1, here, "");
    if (!x || !y) continue;
    const ch = commonChar(x, y);
    if (ch === undefined) continue;
    visit(x.kind === "star" ? i : i + 1, y.kind === "star" ? j : j + 1, here, ch);
  }
  return undefined;
}

function commonChar(x: Element, y: Element): string | undefined {
  if (x.kind === "char" && y.kind === "char") return x.ch === y.ch ? x.ch : undefined;
  if (x.kind === "char") return x.ch === "/" ? undefined : x.ch;
  if (y.kind === "char") return y.ch === "/" ? undefined : y.ch;
  return "x";
}

function witness(seen: Map<number, { from: number; ch: string } | null>, end: number): string {
  const chars: string[] = [];
  for (let step = seen.get(end); step; step = seen.get(step.from)) chars.push(step.ch);
  return chars.reverse().join("");
}
