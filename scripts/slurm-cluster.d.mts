// Types of slurm-cluster.mjs for the TypeScript that imports it (tests).
/** The slurm.conf the script writes for this host. */
export function slurmConf(host?: string, cpus?: number, memoryMb?: number): string;
/** Whether sbatch and the daemons are installed. */
export function slurmInstalled(): boolean;
/** Makes sure a SLURM cluster answers with a usable node; returns why not, or undefined. */
export function ensureSlurmCluster(options?: { log?: (line: string) => void; waitMs?: number }): string | undefined;
