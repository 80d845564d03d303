// Makes sure the system programs the tests use are installed, before
// `npm test` runs them (the `pretest` script), so the README's test command
// passes on a fresh machine as written. A missing Debian package is installed
// with apt-get when we run as root on a machine that has it; otherwise this
// fails at once, naming the packages to install. Add a row to PREREQUISITES
// when tests start to need another program.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureSlurmCluster } from "./slurm-cluster.mjs";

/** An executable file on PATH (or at an absolute path). */
function executable(name, env) {
  const candidates = name.includes("/")
    ? [name]
    : (env.PATH ?? "")
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, name));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * True when PostgreSQL's server programs are installed where
 * src/testing/postgres-server.ts looks: $DATABUILD_PG_BIN, else
 * /usr/lib/postgresql/<version>/bin (Debian's layout).
 */
function postgresServerPrograms(env) {
  if (env.DATABUILD_PG_BIN) return executable(join(env.DATABUILD_PG_BIN, "initdb"), env);
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return false;
  return readdirSync(root).some((version) => executable(join(root, version, "bin", "initdb"), env));
}

/** What the tests need: a check, and the Debian package that provides it. */
export const PREREQUISITES = [
  {
    name: "python3",
    debianPackage: "python3",
    neededFor: "Python jobs and the Python job spawner",
    present: (env) => executable("python3", env),
  },
  {
    // src/testing/chromium.ts launches the same path.
    name: "chromium",
    debianPackage: "chromium",
    neededFor: "rendering mermaid output in a real browser",
    where: (env) => env.DATABUILD_CHROMIUM || "/usr/bin/chromium",
    present: (env) => executable(env.DATABUILD_CHROMIUM || "/usr/bin/chromium", env),
  },
  {
    // The tests start a throwaway server of their own (src/testing/postgres-global-setup.ts).
    name: "PostgreSQL server",
    debianPackage: "postgresql",
    neededFor: "the PostgreSQL event log's tests, against a real server",
    where: (env) => env.DATABUILD_PG_BIN || "/usr/lib/postgresql/<version>/bin",
    present: (env) => postgresServerPrograms(env),
  },
  {
    // src/testing/network-namespaces.ts: hosts for the multi-host worker tests.
    name: "ip",
    debianPackage: "iproute2",
    neededFor: "network namespaces as hosts in the multi-host worker tests",
    present: (env) => executable("ip", env) || executable("/usr/sbin/ip", env) || executable("/sbin/ip", env),
  },
  {
    name: "unshare",
    debianPackage: "util-linux",
    neededFor: "a host name of its own for each namespace host in the multi-host worker tests",
    present: (env) => executable("unshare", env) || executable("/usr/bin/unshare", env),
  },
  {
    // src/service/grpc-python.test.ts: a gRPC client in another language (Debian's /usr/bin/python3, whose
    // packages these are, whatever python3 comes first on PATH), with stubs made by protoc.
    name: "protoc",
    debianPackage: "protobuf-compiler",
    neededFor: "Python stubs of the service API (the gRPC client test)",
    present: (env) => executable("protoc", env),
  },
  {
    name: "grpc_python_plugin",
    debianPackage: "protobuf-compiler-grpc",
    neededFor: "Python gRPC stubs of the service API (the gRPC client test)",
    present: (env) => executable("grpc_python_plugin", env),
  },
  {
    name: "python3-grpcio",
    debianPackage: "python3-grpcio",
    neededFor: "a Python gRPC client of the service (the gRPC client test)",
    present: () => spawnSync("/usr/bin/python3", ["-c", "import grpc"], { stdio: "ignore" }).status === 0,
  },
  {
    name: "python3-protobuf",
    debianPackage: "python3-protobuf",
    neededFor: "protobuf messages in the Python gRPC client test",
    present: () => spawnSync("/usr/bin/python3", ["-c", "import google.protobuf"], { stdio: "ignore" }).status === 0,
  },
  {
    // src/cli/commands/compile.test.ts: every script `databuild compile --bash` writes passes it.
    name: "shellcheck",
    debianPackage: "shellcheck",
    neededFor: "checking the bash scripts `databuild compile --bash` writes",
    present: (env) => executable("shellcheck", env),
  },
  {
    // src/launchers/slurm/: a single-node cluster started by scripts/slurm-cluster.mjs (../shared/recipes/slurm.md).
    name: "SLURM (sbatch, slurmctld, slurmd)",
    debianPackage: "slurm-wlm",
    neededFor: "the SLURM launcher's tests, on a single-node cluster",
    present: (env) =>
      executable("sbatch", env) && executable("/usr/sbin/slurmctld", env) && executable("/usr/sbin/slurmd", env),
  },
  {
    name: "munged",
    debianPackage: "munge",
    neededFor: "authentication in the SLURM launcher's test cluster",
    present: (env) => executable("/usr/sbin/munged", env),
  },
];

/** The prerequisites that are missing. */
export function missingPrerequisites(env = process.env) {
  return PREREQUISITES.filter((prerequisite) => !prerequisite.present(env));
}

function describe(missing, env) {
  return missing
    .map(
      (p) => `  ${p.name} (Debian package ${p.debianPackage}${p.where ? `, at ${p.where(env)}` : ""}): ${p.neededFor}`,
    )
    .join("\n");
}

function aptGet(args) {
  const result = spawnSync("apt-get", args, {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`apt-get ${args.join(" ")} exited with ${result.status ?? result.signal}`);
}

/** Installs what is missing (as root, with apt-get) or explains what to install. Returns the exit code. */
export function ensurePrerequisites({ env = process.env, log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const missing = missingPrerequisites(env);
  if (missing.length === 0) return 0;
  const packages = [...new Set(missing.map((p) => p.debianPackage))];
  const canInstall = process.getuid?.() === 0 && executable("apt-get", env);
  if (!canInstall) {
    log(
      `test-prerequisites: the tests need programs that are not installed:\n${describe(missing, env)}\n` +
        `Install them (on Debian or Ubuntu: sudo apt-get install ${packages.join(" ")}), then run npm test again.`,
    );
    return 1;
  }
  log(`test-prerequisites: installing ${packages.join(" ")} with apt-get (the tests need them)`);
  try {
    aptGet(["update", "-qq"]);
    aptGet(["install", "-y", "-qq", "--no-install-recommends", ...packages]);
  } catch (error) {
    log(`test-prerequisites: could not install ${packages.join(" ")}: ${error.message}`);
    return 1;
  }
  const still = missingPrerequisites(env);
  if (still.length > 0) {
    log(`test-prerequisites: still missing after apt-get install:\n${describe(still, env)}`);
    return 1;
  }
  return 0;
}

/**
 * Starts the single-node SLURM cluster the SLURM launcher's tests submit to
 * (once: it is left running, and this returns at once while it runs). Without
 * one those tests are skipped, except under CI=true, where this fails.
 */
export function startSlurmCluster({ env = process.env, log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const problem = ensureSlurmCluster({ log });
  if (problem === undefined) return 0;
  log(`test-prerequisites: no SLURM cluster for the SLURM launcher's tests: ${problem}`);
  return env.CI === "true" ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = ensurePrerequisites() || startSlurmCluster();
