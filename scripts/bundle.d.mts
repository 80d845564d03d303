// Types of bundle.mjs for the TypeScript that imports it (tests).
export const ROOT: string;
/** Bundle name (dist/NAME.mjs) -> entry source file, relative to ROOT. */
export const ENTRIES: Record<string, string>;
/** Dependencies bundled into dist/ rather than imported from node_modules. */
export const BUNDLED_PACKAGES: ReadonlySet<string>;
export function bundleIsFresh(): boolean;
/** The .mjs files of the current bundle (entries and chunks), relative to dist/. */
export function bundleOutputs(): string[];
export function bundle(options?: { keepOldChunksMs?: number }): Promise<void>;
/** The packaged wrapper's program: its bundle name, entry, and file in dist/. */
export const PACKAGED_WRAPPER: { name: string; entry: string; file: string };
