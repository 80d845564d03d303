/**
 * @module Test support: a throwaway PostgreSQL server (the Debian
 * `postgresql` package's binaries) in a temporary folder, on a free port of
 * 127.0.0.1. One is started per vitest run (postgres-global-setup.ts) and
 * shared by every test through fresh databases (fresh-database.ts); a test
 * that stops the server on purpose starts one of its own.
 *
 * As root, the server runs as the `postgres` user (PostgreSQL refuses to
 * run as root), and the folder is handed to that user. Durability is relaxed
 * (fsync off): tests kill clients and stop the server with `pg_ctl stop -m
 * immediate`, which keeps everything written to the OS, but never crash the
 * OS itself, and the suite runs several times faster.
 */
import { spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A role that must log in with a password (scram-sha-256), for tests of bad credentials. */
export const PASSWORD_ROLE = "databuild_password_role";
export const PASSWORD_ROLE_SECRET = "correct-horse-battery";

/** The superuser every test connects as (trust authentication on 127.0.0.1). */
export const SUPERUSER = "postgres";

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** The folder holding the data directory, the socket and the server's log. */
  readonly dir: string;
  /** The URL of `database` on this server as the superuser. */
  url(database?: string): string;
  /** Stops the server: "fast" ends sessions cleanly, "immediate" is as abrupt as a crash. */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  /** Starts it again (after `stop`), on the same port. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
}

export interface PostgresServerOptions {
  /** Keep fsync on (benchmarks); tests leave it off. */
  readonly durable?: boolean;
  /** Extra `-c name=value` settings. */
  readonly settings?: Readonly<Record<string, string>>;
}

/**
 * The folder of PostgreSQL's server programs: $DATABUILD_PG_BIN, else the
 * newest /usr/lib/postgresql/<version>/bin. Throws saying what to install
 * when there is none.
 */
export function postgresBinDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DATABUILD_PG_BIN) {
    if (!existsSync(join(env.DATABUILD_PG_BIN, "initdb")))
      throw new Error(`$DATABUILD_PG_BIN is ${env.DATABUILD_PG_BIN}, which holds no initdb`);
    return env.DATABUILD_PG_BIN;
  }
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      "the PostgreSQL tests need the PostgreSQL server programs (initdb, pg_ctl), and there are none under " +
        "/usr/lib/postgresql: install Debian's postgresql package (npm test does it as root: " +
        "scripts/test-prerequisites.mjs), or set $DATABUILD_PG_BIN to the folder that holds initdb",
    );
  }
  return join(root, versions[0]!, "bin");
}

/** Starts a new server in a new temporary folder. */
export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), "databuild-pg-"));
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresIds() : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, "data");
  const run = (program: string, args: string[]) => runAs(owner !== undefined, join(bin, program), args, dir);
  try {
    await run("initdb", ["-D", data, "-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--locale=C", "--no-sync"]);
    // The password role must prove its password; everyone else is trusted (local tests only).
    writeFileSync(
      join(data, "pg_hba.conf"),
      [
        `local all all trust`,
        `host all ${PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256`,
        `host all all 127.0.0.1/32 trust`,
        `host all all ::1/128 trust`,
        ``,
      ].join("\n"),
    );
    const settings: Record<string, string> = {
      listen_addresses: "127.0.0.1",
      unix_socket_directories: dir,
      max_connections: "300",
      fsync: options.durable ? "on" : "off",
      full_page_writes: options.durable ? "on" : "off",
      synchronous_commit: "on",
      ...options.settings,
    };
    appendFileSync(
      join(data, "postgresql.conf"),
      Object.entries(settings)
        .map(([k, v]) => `${k} = '${v}'\n`)
        .join(""),
    );
    if (owner) chownSync(join(data, "pg_hba.conf"), owner.uid, owner.gid);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  let port = 0;
  const host = "127.0.0.1";
  const pgCtl = (args: string[]) => run("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), ...args]);
  const start = async () => {
    await pgCtl(["-w", "-t", "60", "-o", `-p ${port}`, "start"]);
  };
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (error) {
      // Another program took the port between the probe and the start: try another.
      if (attempt >= 4) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const url = (database = "postgres") => `postgres://${SUPERUSER}@${host}:${port}/${database}`;
  await psql(bin, url(), `CREATE ROLE ${PASSWORD_ROLE} LOGIN PASSWORD '${PASSWORD_ROLE_SECRET}'`, owner !== undefined);
  let removed = false;
  return {
    host,
    port,
    dir,
    url,
    stop: async (mode = "fast") => {
      await pgCtl(["-w", "-t", "60", "-m", mode, "stop"]);
    },
    start,
    remove: async () => {
      if (removed) return;
      removed = true;
      try {
        await pgCtl(["-w", "-t", "60", "-m", "fast", "stop"]);
      } catch {
        // Already stopped (a test stopped it and did not start it again).
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The uid and gid of the `postgres` user, who runs the server when we are root. */
function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
  const uid = id("-u");
  const gid = id("-g");
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(
      "running as root, the PostgreSQL test server must run as the postgres user, and there is none " +
        "(Debian's postgresql package creates it)",
    );
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Runs a server program (as the postgres user when `asPostgres`), rejecting with its output when it fails. */
function runAs(asPostgres: boolean, program: string, args: string[], cwd: string): Promise<void> {
  const [command, argv] = asPostgres ? ["runuser", ["-u", "postgres", "--", program, ...args]] : [program, args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${program} ${args.join(" ")} failed (${code ?? signal}):\n${output}`));
    });
  });
}

function psql(bin: string, url: string, sql: string, asPostgres: boolean): Promise<void> {
  const program = existsSync(join(bin, "psql")) ? join(bin, "psql") : "psql";
  return runAs(asPostgres, program, ["-v", "ON_ERROR_STOP=1", "-q", "-d", url, "-c", sql], tmpdir());
}

/** A TCP port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}
