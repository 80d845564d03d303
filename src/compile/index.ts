/**
 * @module Compiling a JobGraph to a standalone script (SPEC 3.9,
 * `databuild compile --bash`): no I/O, the CLI writes the file. The one
 * entry of src/compile/.
 */
export { bashScript, type BashScriptOptions } from "./bash-script.ts";
export { InProcessJobsError } from "./compile-errors.ts";
