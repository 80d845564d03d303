/**
 * @module The packaged wrapper's program (`databuild package wrapper`):
 * `databuild wrapper` on its own, bundled with everything it uses into one
 * CommonJS file (dist/wrapper-sea.cjs, scripts/bundle.mjs) that a Node
 * single executable embeds. It reads one JobRunRequest on stdin and writes
 * the run's events as JSON lines on stdout, exactly as `databuild wrapper`.
 */
import { ProcessJobRunner } from "./process-runner.ts";
import { runWrapperCommand } from "./wrapper-command.ts";

const USAGE = `usage: databuild-wrapper [wrapper] < REQUEST.json > EVENTS.jsonl

Runs one job from a JobRunRequest (proto3 JSON) on stdin and prints its
BuildEvents as JSON lines on stdout: \`databuild wrapper\`, packaged by
\`databuild package wrapper\` to run where neither Node nor databuild is installed.
Exit codes: 0 the job succeeded; 1 it failed (the events say how); 2 the request was not valid.
`;

// A reader that went away: the wrapper stops the job (wrapper-command.ts); nothing more to say on stderr.
process.stderr.on("error", () => {
  process.stderr.write = () => true;
});

const args = process.argv.slice(2);
if (args[0] === "wrapper") args.shift();
if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
  process.stdout.write(USAGE);
} else if (args.length > 0) {
  process.stderr.write(`databuild-wrapper: unknown argument ${JSON.stringify(args[0])}\n${USAGE}`);
  process.exitCode = 2;
} else {
  // One job in a small process: no spawner process (a fork of this one is cheap).
  const runner = new ProcessJobRunner({ spawner: "inprocess" });
  void runWrapperCommand(process.stdin, process.stdout, { signals: process, runner }).then((code) => {
    process.stdout.write("", () => process.exit(code));
  });
}
