/** @module The databuild version, as `--version` prints it and workers record it. */
export const VERSION = "0.1.0";
