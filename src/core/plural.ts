/** "1 job", "2 jobs": a count and its noun, for messages. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
