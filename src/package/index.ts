/**
 * @module Packaging databuild's parts to run elsewhere (SPEC 3.9): the exec
 * wrapper as one self-contained executable (`databuild package wrapper`).
 * The one entry of src/package/.
 */
export { packagedProgram, postjectCli, PACKAGED_PROGRAM } from "./locate.ts";
export { packageWrapper, type PackagedWrapper, type PackageWrapperOptions } from "./package-wrapper.ts";
