/**
 * @module The SLURM launcher (SPEC 3.9, `databuild build --launcher slurm`):
 * job runs submitted with sbatch, their events read back from files on the
 * shared filesystem. The one entry of src/launchers/slurm/.
 */
export { SlurmJobRunner, type SlurmJobRunnerOptions } from "./slurm-job-runner.ts";
export { SlurmCli, SlurmCommandError, type SlurmCommands, type SlurmJobState } from "./slurm-commands.ts";
