/**
 * @module `databuild package wrapper -o FILE`: the exec wrapper as one
 * self-contained executable (SPEC 3.9), for hosts with neither Node nor
 * databuild (SLURM compute nodes, containers: `--wrapper FILE`).
 */
import type { Command } from "commander";
import { resolve } from "node:path";
import { packagedProgram, packageWrapper, postjectCli } from "../../package/index.ts";
import type { CommandContext } from "../context.ts";

export function registerPackage(program: Command, context: () => CommandContext): void {
  const pkg = program
    .command("package")
    .description("package part of databuild to run where it is not installed: `package wrapper -o FILE`");
  pkg
    .command("wrapper")
    .description(
      "write the exec wrapper (`databuild wrapper`) as one executable that needs neither Node nor databuild (Linux)",
    )
    .requiredOption("-o, --output <file>", "where to write the executable")
    .option(
      "--node <path>",
      "the node binary to embed (Node 20 or later, for the target host's architecture; default: the node running databuild)",
    )
    .addHelpText(
      "after",
      "\nThe executable is a copy of the node binary with the wrapper's program injected (a Node single-executable\n" +
        "application, made with postject), about 100 MB. It reads a JobRunRequest on stdin and prints the run's\n" +
        "events as JSON lines on stdout, like `databuild wrapper`.\n" +
        "Exit codes: 0 written; 2 it could not be (postject missing, not Linux, the node binary or output at fault).\n" +
        "Example:\n  databuild package wrapper -o bin/databuild-wrapper && databuild build --launcher slurm --wrapper bin/databuild-wrapper REF",
    )
    .action(async (options: { output: string; node?: string }) => {
      const ctx = context();
      const output = resolve(ctx.io.cwd, options.output);
      const started = Date.now();
      const packaged = await packageWrapper({
        output,
        node: options.node === undefined ? process.execPath : resolve(ctx.io.cwd, options.node),
        program: packagedProgram(),
        postject: postjectCli(ctx.io.cwd),
        runWith: process.execPath,
      });
      const mb = (packaged.bytes / 1024 / 1024).toFixed(0);
      ctx.io.stderr.write(
        `databuild: wrote ${options.output} (${mb} MB, ${((Date.now() - started) / 1000).toFixed(1)} s): the exec wrapper as one executable; ` +
          `try: ${options.output.includes("/") ? options.output : `./${options.output}`} --help\n`,
      );
    });
}
