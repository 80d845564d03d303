/**
 * @module `databuild package wrapper`: the exec wrapper as one self-contained
 * executable, a Node single-executable application (SEA): a copy of a node
 * binary with the wrapper's program (dist/wrapper-sea.cjs) injected as its
 * NODE_SEA_BLOB resource by postject, Node's own tool for it. The result
 * runs on a Linux host of the same architecture with nothing installed.
 */
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { UsageError } from "../core/errors.ts";

/** The fuse Node's SEA support looks for (documented in Node's single-executable-applications page). */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

export interface PackageWrapperOptions {
  /** Where the executable goes (absolute); replaced atomically. */
  readonly output: string;
  /** The node binary to embed (it must support `--experimental-sea-config`: Node 20 or later). */
  readonly node: string;
  /** The bundled wrapper program (dist/wrapper-sea.cjs). */
  readonly program: string;
  /** postject's command line (postject/dist/cli.js), run with `runWith`. */
  readonly postject: string;
  /** The node that runs postject (the one running databuild). */
  readonly runWith: string;
}

export interface PackagedWrapper {
  readonly bytes: number;
}

/** Builds the executable; throws UsageError naming what went wrong (the node binary, postject, the output). */
export async function packageWrapper(options: PackageWrapperOptions): Promise<PackagedWrapper> {
  if (process.platform !== "linux")
    throw new UsageError(
      `databuild package wrapper builds Linux executables (on ${process.platform}, Node's single executables need signing steps it does not do)`,
    );
  const { output } = options;
  // Beside the output, so the finished file is renamed into place on the same filesystem.
  let work: string;
  try {
    work = mkdtempSync(join(dirname(output), `.${basename(output)}.package-`));
  } catch (error) {
    throw new UsageError(`--output ${output}: cannot write in its folder: ${(error as Error).message}`);
  }
  try {
    const blob = join(work, "wrapper.blob");
    const config = join(work, "sea-config.json");
    writeFileSync(
      config,
      JSON.stringify({
        main: options.program,
        output: blob,
        disableExperimentalSEAWarning: true,
        // The blob is made by the node it is embedded in, so its code cache fits: a faster start per job.
        useCodeCache: true,
      }),
    );
    await run(options.node, ["--experimental-sea-config", config], work, `--node ${options.node}`);
    const executable = join(work, "wrapper");
    copyFileSync(options.node, executable);
    chmodSync(executable, 0o755);
    await run(
      options.runWith,
      [options.postject, executable, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE],
      work,
      "postject",
    );
    renameSync(executable, output);
    return { bytes: statSync(output).size };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Runs a step to its end; its output is shown only when it fails. */
function run(command: string, args: readonly string[], cwd: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.on("error", (error) => reject(new UsageError(`${what}: cannot run ${command}: ${error.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new UsageError(
            `${what}: \`${[command, ...args].join(" ")}\` ${signal ? `was killed by ${signal}` : `exited with code ${code}`}` +
              (output.trim() ? `:\n${output.trim()}` : ""),
          ),
        );
    });
  });
}
