import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DepType } from "../gen/databuild_pb.ts";
import { ConfigError } from "../core/errors.ts";
import type { WantedPartition } from "../core/job.ts";
import { parseOutputPattern, type OutputPattern } from "../core/output-pattern.ts";
import { configureOptions, type ConfigureOptions } from "../core/job.ts";
import { HANGING_CONFIG_SH as HANGING_CONFIG, isRunning, recordedPids, waitUntil } from "../testing/processes.ts";
import { ARGV_BYTE_BUDGET, commandConfigure, splitRefs } from "./command-config.ts";

const pattern = parseOutputPattern("out/date={date}") as OutputPattern;

function wanted(...refs: string[]): WantedPartition[] {
  return refs.map((ref) => ({ ref, params: pattern.match(ref) ?? {}, pattern }));
}

/** A fresh directory holding `files` (name -> content); names ending in .sh are made executable. */
function workdir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "databuild-command-config-"));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), content);
    if (name.endsWith(".sh")) chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

/** Runs configure and returns the ConfigError it throws (failing the test if it does not). */
async function configError(
  configure: ReturnType<typeof commandConfigure>,
  refs: string[],
  options?: ConfigureOptions,
): Promise<ConfigError> {
  try {
    await configure(wanted(...refs), options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("configure succeeded, expected a ConfigError");
}

const PYTHON_CONFIG = `
import json, sys
configs = []
for ref in sys.argv[2:]:
    date = ref.split("=", 1)[1]
    configs.append({
        "outputs": [{"str": ref}],
        "inputs": [
            {"partitionRef": {"str": "raw/date=" + date}},
            {"depType": "QUERY", "partitionRef": {"str": "lookup/date=" + date}},
        ],
        "args": ["--date", date],
        "env": {"MODE": sys.argv[1]},
    })
json.dump({"configs": configs}, sys.stdout)
`;

const BASH_CONFIG = `#!/usr/bin/env bash
set -euo pipefail
sep=""
printf '{"configs": ['
for ref in "$@"; do
  printf '%s{"outputs": [{"str": "%s"}], "args": ["%s"]}' "$sep" "$ref" "\${ref#out/date=}"
  sep=","
done
printf ']}\\n'
`;

describe("commandConfigure", () => {
  it("configures a Python job: refs as arguments, cwd the graph directory, proto JSON decoded", async () => {
    const dir = workdir({ "job.py": PYTHON_CONFIG });
    const configure = commandConfigure("clean", ["python3", "job.py", "config"], dir);
    const configs = await configure(wanted("out/date=2024-01-01", "out/date=2024-01-02"));
    expect(configs.map((c) => c.outputs.map((o) => o.str))).toEqual([["out/date=2024-01-01"], ["out/date=2024-01-02"]]);
    const first = configs[0]!;
    expect(first.inputs.map((i) => [i.partitionRef?.str, i.depType])).toEqual([
      ["raw/date=2024-01-01", DepType.MATERIALIZE],
      ["lookup/date=2024-01-01", DepType.QUERY],
    ]);
    expect(first.args).toEqual(["--date", "2024-01-01"]);
    expect(first.env).toEqual({ MODE: "config" });
  });

  it("configures a bash job run as an executable script", async () => {
    const dir = workdir({ "job.sh": BASH_CONFIG });
    const configure = commandConfigure("numbers", ["./job.sh"], dir);
    const configs = await configure(wanted("out/date=2024-02-29"));
    expect(configs).toHaveLength(1);
    expect(configs[0]!.outputs[0]!.str).toBe("out/date=2024-02-29");
    expect(configs[0]!.args).toEqual(["2024-02-29"]);
  });

  it("splits a long ref list across several calls and merges every config in order", async () => {
    const script = `
import json, os, sys
with open("calls.log", "a") as log:
    log.write("%d %d\\n" % (len(sys.argv) - 1, sum(len(a.encode()) + 1 for a in sys.argv)))
json.dump({"configs": [{"outputs": [{"str": r}]} for r in sys.argv[2:]]}, sys.stdout)
`;
    const dir = workdir({ "job.py": script });
    const refs = Array.from(
      { length: 6000 },
      (_, i) => `out/date=2024-01-01-with-a-long-suffix-${String(i).padStart(5, "0")}`,
    );
    const configs = await commandConfigure("wide", ["python3", "job.py", "config"], dir)(wanted(...refs));
    expect(configs.map((c) => c.outputs[0]!.str)).toEqual(refs);
    const calls = readFileSync(join(dir, "calls.log"), "utf8").trim().split("\n");
    expect(calls.length).toBeGreaterThanOrEqual(2);
    const argCounts = calls.map((line) => Number(line.split(" ")[0]) - 1);
    expect(argCounts.reduce((a, b) => a + b, 0)).toBe(refs.length);
    for (const line of calls) expect(Number(line.split(" ")[1])).toBeLessThan(ARGV_BYTE_BUDGET);
  });

  it("reports the failing call's refs when one of several calls fails", async () => {
    const script = `
import json, sys
if "out/date=bad" in sys.argv:
    sys.exit("no config for out/date=bad")
json.dump({"configs": [{"outputs": [{"str": r}]} for r in sys.argv[1:]]}, sys.stdout)
`;
    const dir = workdir({ "job.py": script });
    const refs = Array.from({ length: 5000 }, (_, i) => `out/date=ref-with-a-fairly-long-name-${i}`);
    refs.push("out/date=bad");
    const error = await configError(commandConfigure("wide", ["python3", "job.py"], dir), refs);
    expect(error.refs).toContain("out/date=bad");
    expect(error.refs.length).toBeLessThan(refs.length);
    expect(error.problem).toContain("exited with code 1");
    expect(error.stderr).toContain("no config for out/date=bad");
  });

  it("runs nothing for an empty request", async () => {
    const dir = workdir({});
    const configure = commandConfigure("idle", ["definitely-not-a-program-databuild"], dir);
    expect(await configure([])).toEqual([]);
  });
});

describe("commandConfigure failures", () => {
  it("names the program and the directory when the program does not exist", async () => {
    const dir = workdir({});
    const error = await configError(commandConfigure("clean", ["definitely-not-a-program-databuild", "config"], dir), [
      "out/date=1",
    ]);
    expect(error.job).toBe("clean");
    expect(error.refs).toEqual(["out/date=1"]);
    expect(error.message).toContain('job "clean"');
    expect(error.message).toContain("out/date=1");
    expect(error.message).toContain('"definitely-not-a-program-databuild"');
    expect(error.message).toContain("ENOENT");
    expect(error.message).toContain(dir);
  });

  it("says the program is not executable (EACCES)", async () => {
    const dir = workdir({ "job.py": PYTHON_CONFIG });
    const error = await configError(commandConfigure("clean", ["./job.py", "config"], dir), ["out/date=1"]);
    expect(error.message).toContain("EACCES");
    expect(error.message).toContain("chmod +x");
    expect(error.message).toContain('"./job.py"');
  });

  it("says when the working directory is missing", async () => {
    const dir = join(workdir({}), "gone");
    const error = await configError(commandConfigure("clean", ["python3", "job.py"], dir), ["out/date=1"]);
    expect(error.message).toContain(`working directory ${dir} does not exist`);
  });

  it("reports a non-zero exit with the exit code and the tail of stderr", async () => {
    const script = `#!/usr/bin/env bash
for i in $(seq 1 100); do echo "progress line $i" >&2; done
echo "fatal: cannot read the catalog" >&2
exit 3
`;
    const dir = workdir({ "job.sh": script });
    const error = await configError(commandConfigure("reviews", ["./job.sh", "config"], dir), [
      "out/date=a",
      "out/date=b",
    ]);
    expect(error.job).toBe("reviews");
    expect(error.refs).toEqual(["out/date=a", "out/date=b"]);
    expect(error.problem).toBe('config command "./job.sh config" exited with code 3');
    expect(error.message).toContain("out/date=a, out/date=b");
    expect(error.message).toContain("fatal: cannot read the catalog");
    // Only the tail is kept: the last 20 lines, not the first ones.
    expect(error.stderr).toContain("progress line 100");
    expect(error.stderr).not.toContain("progress line 50\n");
    expect(error.stderr.split("\n").length).toBeLessThanOrEqual(21);
    expect(error.stderr).toContain("earlier stderr omitted");
  });

  it("keeps at most 4 KiB of a very chatty stderr", async () => {
    const script = `import sys\nsys.stderr.write("x" * 1_000_000 + "\\nlast words\\n")\nsys.exit(1)\n`;
    const dir = workdir({ "job.py": script });
    const error = await configError(commandConfigure("chatty", ["python3", "job.py"], dir), ["out/date=1"]);
    expect(error.stderr).toContain("last words");
    expect(Buffer.byteLength(error.stderr)).toBeLessThanOrEqual(4096 + 100);
  });

  it("reports a config command killed by a signal", async () => {
    const dir = workdir({ "job.sh": "#!/usr/bin/env bash\nkill -KILL $$\n" });
    const error = await configError(commandConfigure("doomed", ["./job.sh"], dir), ["out/date=1"]);
    expect(error.problem).toBe('config command "./job.sh" was killed by signal SIGKILL');
  });

  it("quotes the start of stdout that is not JSON", async () => {
    const dir = workdir({ "job.py": 'print("Configuring out/date=1 ...")\nprint("{}")\n' });
    const error = await configError(commandConfigure("noisy", ["python3", "job.py"], dir), ["out/date=1"]);
    expect(error.job).toBe("noisy");
    expect(error.refs).toEqual(["out/date=1"]);
    expect(error.problem).toContain("invalid JSON on stdout (Unexpected token 'C');");
    expect(error.problem).toContain('"Configuring out/date=1 ...\\n{}\\n"');
  });

  it("reports empty stdout", async () => {
    const dir = workdir({ "job.py": "import sys\nsys.stderr.write('nothing to say')\n" });
    const error = await configError(commandConfigure("silent", ["python3", "job.py"], dir), ["out/date=1"]);
    expect(error.problem).toContain("printed nothing on stdout");
    expect(error.stderr).toBe("nothing to say");
  });

  it("rejects JSON with an unknown field, quoting the proto error", async () => {
    const dir = workdir({ "job.py": 'print(\'{"configs": [{"outputs": [{"str": "out/date=1"}], "inptus": []}]}\')\n' });
    const error = await configError(commandConfigure("typo", ["python3", "job.py"], dir), ["out/date=1"]);
    expect(error.message).toContain('job "typo"');
    expect(error.message).toContain("out/date=1");
    expect(error.problem).toContain("not a JobConfigureResponse");
    expect(error.problem).toContain("inptus");
  });

  it("rejects JSON of the wrong shape", async () => {
    const dir = workdir({ "job.py": 'print(\'[{"outputs": ["out/date=1"]}]\')\n' });
    const error = await configError(commandConfigure("shape", ["python3", "job.py"], dir), ["out/date=1"]);
    expect(error.problem).toContain("not a JobConfigureResponse");
  });
});

/** The pids a config script wrote to `pids` in `dir`. */
const pidsIn = (dir: string) => recordedPids(join(dir, "pids"));

/** Milliseconds `run` takes to settle, and its ConfigError. */
async function timedError(run: () => Promise<ConfigError>): Promise<{ ms: number; error: ConfigError }> {
  const start = Date.now();
  const error = await run();
  return { ms: Date.now() - start, error };
}

describe("commandConfigure limits", () => {
  it("fails a hung config at its time limit, naming job, refs and limit, and stops its whole process group", async () => {
    const dir = workdir({ "hang.sh": HANGING_CONFIG });
    const configure = commandConfigure("hung", ["./hang.sh"], dir);
    const { ms, error } = await timedError(() =>
      configError(configure, ["out/date=1", "out/date=2"], configureOptions({ configTimeoutMs: 500 })),
    );
    expect(error.message).toContain('config of job "hung" failed for out/date=1, out/date=2');
    expect(error.message).toContain("did not finish within its time limit of 0.5 s (the job's config_timeout_seconds)");
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(3000);
    const pids = pidsIn(dir);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
  });

  it("names --config-timeout when the job sets no limit of its own, and the job's own limit wins over it", async () => {
    const dir = workdir({ "hang.sh": HANGING_CONFIG });
    const configure = commandConfigure("hung", ["./hang.sh"], dir);
    const fromFlag = await configError(configure, ["out/date=1"], configureOptions({}, { timeoutMs: 300 }));
    expect(fromFlag.problem).toContain("time limit of 0.3 s (set by --config-timeout)");
    const own = await configError(
      configure,
      ["out/date=1"],
      configureOptions({ configTimeoutMs: 200 }, { timeoutMs: 60_000 }),
    );
    expect(own.problem).toContain("time limit of 0.2 s (the job's config_timeout_seconds)");
    for (const pid of pidsIn(dir)) expect(isRunning(pid)).toBe(false);
  });

  it("fails a config that prints more than its output cap, naming the cap", async () => {
    const configure = commandConfigure("chatty", ["sh", "-c", "yes configs"], workdir({}));
    const { ms, error } = await timedError(() =>
      configError(configure, ["out/date=1"], configureOptions({ configMaxOutputBytes: 64 * 1024 })),
    );
    expect(error.job).toBe("chatty");
    expect(error.refs).toEqual(["out/date=1"]);
    expect(error.problem).toContain(
      "printed more than its output cap of 64 KiB on stdout (the job's config_max_output_bytes)",
    );
    expect(ms).toBeLessThan(3000);
    const withFlag = await configError(configure, ["out/date=1"], configureOptions({}, { maxOutputBytes: 1000 }));
    expect(withFlag.problem).toContain("output cap of 1000 bytes on stdout (set by --config-max-output)");
  });

  it("applies the default cap (64 MiB) without options, and says how to raise it", async () => {
    const error = await configError(commandConfigure("chatty", ["sh", "-c", "yes configs"], workdir({})), [
      "out/date=1",
    ]);
    expect(error.problem).toContain(
      "output cap of 64 MiB on stdout (the default; raise it with the job's config_max_output_bytes or --config-max-output)",
    );
  });

  it("does not wait for a background child that keeps stdout open once the main process exited", async () => {
    const script = `#!/bin/sh
sleep 1000 &
echo $! >> pids
printf '{"configs": [{"outputs": [{"str": "%s"}]}]}\n' "$1"
`;
    const dir = workdir({ "bg.sh": script });
    const start = Date.now();
    const configs = await commandConfigure("bg", ["./bg.sh"], dir)(wanted("out/date=1"), configureOptions({}));
    expect(Date.now() - start).toBeLessThan(1500);
    expect(configs.map((c) => c.outputs[0]!.str)).toEqual(["out/date=1"]);
    const [background] = pidsIn(dir);
    expect(isRunning(background!)).toBe(false);
  });

  it("stops the process group at once when cancelled", async () => {
    const dir = workdir({ "hang.sh": HANGING_CONFIG });
    const controller = new AbortController();
    const pending = configError(
      commandConfigure("hung", ["./hang.sh"], dir),
      ["out/date=1"],
      configureOptions({}, {}, controller.signal),
    );
    await waitUntil(() => pidsIn(dir).length === 2);
    const { ms, error } = await timedError(() => {
      controller.abort("interrupted (SIGINT)");
      return pending;
    });
    expect(ms).toBeLessThan(1000);
    expect(error.problem).toBe('config command "./hang.sh" was stopped: interrupted (SIGINT)');
    for (const pid of pidsIn(dir)) expect(isRunning(pid)).toBe(false);
  });
});

describe("splitRefs", () => {
  it("keeps every batch's argv within the budget and loses no ref", () => {
    const command = ["python3", "job.py", "config"];
    const refs = Array.from({ length: 100 }, (_, i) => `ref/${i}`);
    const budget = 300;
    const batches = splitRefs(command, refs, budget);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flat()).toEqual(refs);
    const bytes = (args: string[]) => args.reduce((sum, a) => sum + Buffer.byteLength(a) + 1 + 8, 0);
    for (const batch of batches) expect(bytes([...command, ...batch])).toBeLessThanOrEqual(budget);
  });

  it("gives a ref longer than the budget a call of its own", () => {
    const batches = splitRefs(["job"], ["a", "x".repeat(500), "b"], 100);
    expect(batches).toEqual([["a"], ["x".repeat(500)], ["b"]]);
  });
});
