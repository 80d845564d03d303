/**
 * @module Workers (SPEC 3.9): `databuild worker` processes that run job
 * runs builds offer through the shared log, on any host, and the launcher
 * builds use to offer them (`--launcher worker`). The one entry of
 * src/workers/.
 */
export { Worker, type WorkerOptions } from "./worker.ts";
export { WorkerJobRunner, type WorkerJobRunnerOptions } from "./worker-job-runner.ts";
