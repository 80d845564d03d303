/**
 * @module Type-level parsing of output patterns, so a config function for
 * "daily/category={category}/date={date}" receives `{category, date}` typed.
 */

/** The parameter names in one pattern string, as a union. */
export type ParamNames<P extends string> = P extends `${string}{${infer Name}}${infer Rest}`
  ? Name | ParamNames<Rest>
  : never;

/** The parameters a config function receives for a job with patterns `Ps`. */
export type PatternParams<Ps extends readonly string[]> = { readonly [K in ParamNames<Ps[number]>]: string };
