/**
 * @module Dataset versions: semver strings a job declares. A major bump
 * invalidates partitions built by earlier majors; minor and patch do not.
 */

export interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** Parses "1.2.3" (pre-release and build suffixes allowed); undefined if not semver. */
export function parseVersion(text: string): Version | undefined {
  const m = SEMVER.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}
