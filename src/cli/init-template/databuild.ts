/**
 * A databuild graph (made by `databuild init`). Two jobs:
 *
 *   greeting/name={name}  an in-process TypeScript job: writes data/greeting/name=NAME.txt
 *   shout/name={name}     a command job (python3 jobs/shout.py): upper-cases that greeting
 *
 *   npx databuild build shout/name=world   # builds greeting/name=world first
 *   npx databuild status shout/name=world
 *
 * How to write graphs: node_modules/databuild/docs/gsl.md; command jobs: docs/job-protocol.md there.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineGraph, defineJob } from "databuild";

/** Outputs go under data/ beside this file, wherever databuild is started from. */
const DATA = join(dirname(fileURLToPath(import.meta.url)), "data");

const greeting = defineJob({
  label: "greeting",
  outputs: ["greeting/name={name}"],
  // Called per partition: `name` is typed from the pattern above.
  config: ({ name }) => ({ args: [name] }),
  // An in-process job: runs inside databuild, no process to spawn.
  exec: async (config, context) => {
    const file = join(DATA, `${config.outputs[0]!.str}.txt`);
    await mkdir(dirname(file), { recursive: true });
    // Write a temporary file, then rename it: a killed job never leaves half a partition.
    await writeFile(`${file}.tmp`, `hello, ${config.args[0]}\n`);
    await rename(`${file}.tmp`, file);
    context.log(`wrote ${file}`);
  },
});

const shout = defineJob({
  label: "shout",
  outputs: ["shout/name={name}"],
  config: ({ name }) => ({
    // MATERIALIZE by default: databuild builds greeting/name=NAME first.
    inputs: [`greeting/name=${name}`],
    // Appended to the command; it runs in this file's directory.
    args: [`data/greeting/name=${name}.txt`, `data/shout/name=${name}.txt`],
  }),
  exec: ["python3", "jobs/shout.py"],
});

export default defineGraph({ label: "my_graph", jobs: [greeting, shout] });
