// Types of bundle.mjs for the TypeScript that imports it (tests).
export const ROOT: string;
/** Bundle name (dist/NAME.mjs) -> entry source file, relative to ROOT. */
export const ENTRIES: Record<string, string>;
export function bundleIsFresh(): boolean;
export function bundle(): Promise<void>;
