/**
 * @module Test helper: a throwaway manifest project (databuild.yaml plus job
 * scripts) in a temp directory, with a generic config script.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tempDir } from "./run-cli.ts";

/**
 * A config command (python3) for jobs whose runs each produce one ref: args
 * are `[ref]`, inputs come from `$INPUTS`, a template where `{x}` is the
 * ref's last path segment, e.g. "raw/{x}" for clean/{x}. Empty: no inputs.
 */
export const CONFIG_PY = `import json, os, sys
tmpl = os.environ.get("INPUTS", "")
configs = []
for ref in sys.argv[1:]:
    x = ref.rsplit("/", 1)[-1]
    inputs = [{"partitionRef": {"str": t.replace("{x}", x)}} for t in tmpl.split(",") if t]
    configs.append({"outputs": [{"str": ref}], "inputs": inputs, "args": [ref]})
print(json.dumps({"configs": configs}))
`;

/**
 * A job (bash) that appends a line to runs/<ref> per run, so a test can count
 * exactly which partitions ran; with $GATE set, it then waits until that file
 * exists, so a test holds the job running as long as it needs instead of
 * guessing with a sleep.
 */
export const COUNTING_JOB_SH = `#!/usr/bin/env bash
set -euo pipefail
mkdir -p "runs/$(dirname "$1")"
echo run >> "runs/$1"
if [ -n "\${GATE:-}" ]; then while [ ! -e "$GATE" ]; do sleep 0.05; done; fi
echo "built $1"
`;

/** Writes files (executable when under jobs/) into a new temp dir and returns it. */
export function manifestProject(files: Record<string, string>): string {
  const dir = tempDir("databuild-project-");
  for (const [name, content] of Object.entries({ "jobs/config.py": CONFIG_PY, ...files })) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    if (name.startsWith("jobs/")) chmodSync(path, 0o755);
  }
  return dir;
}

/** A manifest job whose config is config.py with `inputs` and whose exec is `exec`. */
export function manifestJob(label: string, output: string, exec: string[], inputs = "", extra = ""): string {
  const config = inputs ? `["env", "INPUTS=${inputs}", "python3", "jobs/config.py"]` : `["python3", "jobs/config.py"]`;
  return `  - label: ${label}
    outputs: [${JSON.stringify(output)}]
    config: ${config}
    exec: ${JSON.stringify(exec)}
${extra}`;
}
