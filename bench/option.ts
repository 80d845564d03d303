/** `--name value` from the command line, or `fallback` (the benchmarks' only flag syntax). */
export function option(name: string, fallback: string, args: readonly string[] = process.argv.slice(2)): string {
  const at = args.indexOf(name);
  return at === -1 ? fallback : (args[at + 1] ?? fallback);
}
