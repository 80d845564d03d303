/**
 * @module The service's read side: the live model of the log (LiveLog) and
 * the read RPCs answered from it. The one entry of src/service/reads/.
 */
export { LiveLog, type LiveLogOptions } from "./live-log.ts";
export { readRpcs, type ReadRpcDeps, type ReadRpcName, type ReadRpcs } from "./read-rpcs.ts";
export { resolveBuildRequest, resolveJobRun } from "./build-request-reads.ts";
