// A single-node SLURM cluster on this machine for the SLURM launcher's
// tests (src/launchers/slurm/), following ../shared/recipes/slurm.md:
// Debian's slurm-wlm and munge, as root, no cgroups, no accounting. Started
// once and left running (the tests share it); idempotent and fast when it
// already runs: `ensureSlurmCluster()` returns in a few milliseconds then.
//
// A slurm.conf this script did not write (a real cluster's) is never
// touched: if `sinfo` answers, the tests use that cluster as it is.
//
// Run it directly to set the cluster up (as root): node scripts/slurm-cluster.mjs
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync, openSync, writeSync, closeSync } from "node:fs";
import { hostname, totalmem, availableParallelism } from "node:os";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";

const CONF = "/etc/slurm/slurm.conf";
const MARK = "# Written by databuild's scripts/slurm-cluster.mjs";
const MUNGE_KEY = "/etc/munge/munge.key";
const PIDS = { munged: "/run/munge/munged.pid", slurmctld: "/run/slurmctld.pid", slurmd: "/run/slurmd.pid" };

/** The slurm.conf for this host: the recipe's, with intervals short enough for tests. */
export function slurmConf(host = hostname().split(".")[0], cpus = availableParallelism(), memoryMb = memory()) {
  return `${MARK} (see ../shared/recipes/slurm.md); a single-node cluster for tests.
ClusterName=local
SlurmctldHost=${host}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
ReturnToService=2
SchedulerType=sched/backfill
# Scheduling on every submit and job end, and a pass every second besides: tasks start in well under a second.
SchedulerParameters=sched_interval=1,bf_interval=1,sched_min_interval=100000
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# A cancel's SIGTERM gets this long before SIGKILL: more than databuild's default --kill-grace (5 s).
KillWait=10
MinJobAge=300
SlurmctldPidFile=${PIDS.slurmctld}
SlurmdPidFile=${PIDS.slurmd}
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
MpiDefault=none
NodeName=${host} CPUs=${cpus} RealMemory=${memoryMb} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
`;
}

function memory() {
  return Math.max(512, Math.floor(totalmem() / 1024 / 1024) - 1024);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 30_000, ...options });
  return { code: result.error ? -1 : result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

function alive(pidFile) {
  try {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The node's state as sinfo reports it ("idle", "mixed", "down*", ...), or undefined when SLURM does not answer. */
function nodeStates() {
  const result = run("sinfo", ["--noheader", "--format=%T"], { timeout: 10_000 });
  if (result.code !== 0) return undefined;
  return result.stdout.split("\n").filter(Boolean);
}

const usable = (states) => states?.some((s) => /^(idle|mixed|allocated|completing)/.test(s));

/** Whether `sbatch` and the daemons' programs are installed. */
export function slurmInstalled() {
  return (
    ["sbatch", "squeue", "scancel", "scontrol", "sinfo"].every((p) => run("which", [p]).code === 0) &&
    existsSync("/usr/sbin/slurmctld") &&
    existsSync("/usr/sbin/slurmd") &&
    existsSync("/usr/sbin/munged")
  );
}

/**
 * Makes sure a SLURM cluster answers with a usable node. Returns undefined
 * when it does, else why not (not installed, not root, a daemon would not start).
 */
export function ensureSlurmCluster({ log = (line) => process.stderr.write(`${line}\n`), waitMs = 20_000 } = {}) {
  const ours = !existsSync(CONF) || readFileSync(CONF, "utf8").startsWith(MARK);
  // Our cluster's daemons all run here (sinfo alone would still say "idle" minutes after slurmd died).
  const running = !ours || Object.values(PIDS).every(alive);
  if (running && usable(nodeStates())) return undefined;
  if (!slurmInstalled()) return "SLURM is not installed (Debian packages slurm-wlm and munge)";
  if (!ours) return `${CONF} is not this script's, and its cluster does not answer (sinfo): start it yourself`;
  if (process.getuid?.() !== 0) return "starting the test SLURM cluster needs root";
  log("slurm-cluster: starting a single-node SLURM cluster (munged, slurmctld, slurmd)");
  for (const dir of [
    "/etc/munge",
    "/var/log/munge",
    "/run/munge",
    "/var/lib/munge",
    "/var/spool/slurmctld",
    "/var/spool/slurmd",
    "/var/log/slurm",
    "/etc/slurm",
  ])
    mkdirSync(dir, { recursive: true });
  if (!existsSync(MUNGE_KEY)) {
    const fd = openSync(MUNGE_KEY, "w", 0o400);
    writeSync(fd, randomBytes(1024));
    closeSync(fd);
  }
  run("chown", ["-R", "munge:munge", "/etc/munge", "/var/log/munge", "/run/munge", "/var/lib/munge"]);
  chmodSync(MUNGE_KEY, 0o400);
  const conf = slurmConf();
  if (!existsSync(CONF) || readFileSync(CONF, "utf8") !== conf) writeFileSync(CONF, conf);
  const start = (name, command, args) => {
    if (alive(PIDS[name])) return undefined;
    const started = run(command, args);
    return started.code === 0 ? undefined : `${name} would not start: ${(started.stderr || started.stdout).trim()}`;
  };
  const problem =
    start("munged", "su", ["-s", "/bin/sh", "munge", "-c", "/usr/sbin/munged"]) ??
    start("slurmctld", "/usr/sbin/slurmctld", []) ??
    start("slurmd", "/usr/sbin/slurmd", []);
  if (problem) return problem;
  const deadline = Date.now() + waitMs;
  let states;
  while (Date.now() < deadline) {
    states = nodeStates();
    if (usable(states)) return undefined;
    // A node left down or drained by an earlier run comes back.
    if (states?.some((s) => /^(down|drain)/.test(s)))
      run("scontrol", ["update", `nodename=${hostname().split(".")[0]}`, "state=resume"]);
    spawnSync("sleep", ["0.2"]);
  }
  return `the SLURM node did not become usable within ${waitMs / 1000} s (sinfo: ${states?.join(", ") ?? "no answer"}; see /var/log/slurm/)`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problem = ensureSlurmCluster();
  if (problem) {
    process.stderr.write(`slurm-cluster: ${problem}\n`);
    process.exitCode = 1;
  } else process.stderr.write(`slurm-cluster: ready (${nodeStates()?.join(", ")})\n`);
}
