/**
 * `databuild compile --bash`: the scripts run for real, under `env -i` with
 * a PATH that has no node, and write what `databuild build` writes; every
 * script passes shellcheck.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { manifestProject } from "../../testing/manifest-project.ts";
import { noNodeEnv } from "../../testing/no-node-path.ts";
import { REPO_ROOT, runDatabuild, runProcess, tempDir, type CliResult } from "../../testing/run-cli.ts";

const BASIC = join(REPO_ROOT, "examples", "basic");
const PODCAST_GRAPH = join(REPO_ROOT, "examples", "podcast-reviews", "databuild.ts");

/** Every file under `dir` (relative path -> content). */
function filesUnder(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else files[relative(dir, full)] = readFileSync(full, "utf8");
    }
  };
  if (existsSync(dir)) walk(dir);
  return files;
}

async function compile(project: string, graph: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const script = join(project, "build.sh");
  const result = await runDatabuild(["--graph", graph, "compile", "--bash", ...args, "-o", script], {
    cwd: project,
    env,
  });
  expect(result.stderr).toMatch(/wrote .*build\.sh: \d+ tasks?/);
  expect(result.code).toBe(0);
  await expectShellcheckClean(script);
  return script;
}

async function expectShellcheckClean(script: string): Promise<void> {
  const checked = await runProcess("shellcheck", ["--severity=style", script], { cwd: REPO_ROOT });
  expect(checked.stdout + checked.stderr).toBe("");
  expect(checked.code).toBe(0);
}

/** Runs a compiled script as on a host without node: `env -i`, PATH without node. */
function runScript(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<CliResult> {
  return runProcess(script, args, { cwd: tempDir(), env: noNodeEnv(env) });
}

function copyOfBasic(): string {
  const dir = tempDir("databuild-compile-basic-");
  cpSync(BASIC, dir, { recursive: true, filter: (src) => !/\/(data|\.databuild)$/.test(src) });
  return dir;
}

describe("databuild compile --bash", () => {
  it("compiles examples/basic to a script that, without node, writes what databuild build writes", async () => {
    const project = copyOfBasic();
    const graph = join(project, "databuild.yaml");
    const script = await compile(project, graph, ["summary/month=2024-01"]);

    const ran = await runScript(script, ["-j", "3"]);
    expect(ran.stderr).toContain("all 15 tasks succeeded");
    expect(ran.stderr).toMatch(/\[15\/15\] summary summary\/month=2024-01/);
    expect(ran.code).toBe(0);
    const compiled = filesUnder(join(project, "data"));
    expect(compiled["summary/month=2024-01.txt"]).toBe("month=2024-01 days=01..07 sum_of_squares=336\n");
    expect(Object.keys(compiled)).toHaveLength(15);

    rmSync(join(project, "data"), { recursive: true });
    const built = await runDatabuild(["--graph", graph, "build", "summary/month=2024-01"], { cwd: project });
    expect(built.code).toBe(0);
    expect(filesUnder(join(project, "data"))).toEqual(compiled);
  });

  it("runs each exec command with its args, env and JobConfig on stdin exactly as the exec wrapper does", async () => {
    // Args and env values bash would otherwise interpret, and a ref with a quote in it.
    const cfg = `import json, sys
configs = [{"outputs": [{"str": ref}], "args": ["it's", "a b", "$HOME", "line1\\nline2", "*", "~", "-"],
            "env": {"WEIRD": "x'y\\"z $PATH \`id\`", "EMPTY": "", "odd-name": "v 1", "DATABUILD_JOB_LABEL": "overridden"}}
           for ref in sys.argv[1:]]
print(json.dumps({"configs": configs}))
`;
    const dump = `import json, os, sys
stdin = sys.stdin.read()
config = json.loads(stdin)
out = os.path.join("out", config["outputs"][0]["str"] + ".json")
os.makedirs(os.path.dirname(out), exist_ok=True)
env = {k: os.environ.get(k) for k in ["WEIRD", "EMPTY", "odd-name", "DATABUILD_JOB_LABEL", "FROM_CALLER"]}
with open(out, "w") as f:
    json.dump({"argv": sys.argv[1:], "env": env, "stdin": stdin, "cwd": os.getcwd(),
               "ids": bool(os.environ.get("DATABUILD_BUILD_ID")) and bool(os.environ.get("DATABUILD_JOB_RUN_ID"))}, f)
`;
    const project = manifestProject({
      "jobs/cfg.py": cfg,
      "jobs/dump.py": dump,
      "databuild.yaml": `name: quoting
jobs:
  - label: dump
    outputs: ["dump/{x}"]
    config: ["python3", "jobs/cfg.py"]
    exec: ["python3", "jobs/dump.py", "fixed arg"]
`,
    });
    const graph = join(project, "databuild.yaml");
    const refs = ["dump/it's$x", "dump/plain"];
    const script = await compile(project, graph, refs);
    const ran = await runScript(script, [], { FROM_CALLER: "yes" });
    expect(ran.stderr).toContain("all 2 tasks succeeded");
    expect(ran.code).toBe(0);
    const compiled = filesUnder(join(project, "out"));
    expect(Object.keys(compiled).sort()).toEqual(["dump/it's$x.json", "dump/plain.json"]);
    const first = JSON.parse(compiled["dump/it's$x.json"]!) as { argv: string[]; env: Record<string, string> };
    expect(first.argv).toEqual(["fixed arg", "it's", "a b", "$HOME", "line1\nline2", "*", "~", "-"]);
    expect(first.env).toEqual({
      WEIRD: "x'y\"z $PATH `id`",
      EMPTY: "",
      "odd-name": "v 1",
      DATABUILD_JOB_LABEL: "dump",
      FROM_CALLER: "yes",
    });

    rmSync(join(project, "out"), { recursive: true });
    const built = await runDatabuild(["--graph", graph, "build", ...refs], {
      cwd: project,
      env: { FROM_CALLER: "yes" },
    });
    expect(built.code).toBe(0);
    expect(filesUnder(join(project, "out"))).toEqual(compiled);
  });

  it("stops at the first failure, naming the job, its partitions and the exit code (exit 1)", async () => {
    const project = manifestProject({
      "jobs/fail.sh": `#!/usr/bin/env bash\necho "fail: cannot build $1" >&2\nexit 3\n`,
      "jobs/ok.sh": `#!/usr/bin/env bash\nmkdir -p out\necho "$1" > "out/\${1//\\//_}"\n`,
      "databuild.yaml": `name: failing
jobs:
  - label: broken
    outputs: ["broken/{x}"]
    config: ["python3", "jobs/config.py"]
    exec: ["./jobs/fail.sh"]
  - label: after
    outputs: ["after/{x}"]
    config: ["env", "INPUTS=broken/{x}", "python3", "jobs/config.py"]
    exec: ["./jobs/ok.sh"]
`,
    });
    const graph = join(project, "databuild.yaml");
    const script = await compile(project, graph, ["after/1"]);
    const ran = await runScript(script);
    expect(ran.stderr).toContain("fail: cannot build broken/1");
    expect(ran.stderr).toMatch(
      /failed: job "broken" \(task 1 of 2: broken\/1\) exited with code 3; 0 of 2 tasks succeeded, 1 not run\n$/,
    );
    expect(ran.code).toBe(1);
    expect(existsSync(join(project, "out"))).toBe(false);
  });

  it("stops a job past its time limit and says it timed out", async () => {
    const project = manifestProject({
      "jobs/slow.sh": `#!/usr/bin/env bash\nsleep 30\n`,
      "databuild.yaml": `name: slow
jobs:
  - label: slow
    outputs: ["slow/{x}"]
    timeout_seconds: 0.5
    config: ["python3", "jobs/config.py"]
    exec: ["./jobs/slow.sh"]
`,
    });
    const script = await compile(project, join(project, "databuild.yaml"), ["slow/1"]);
    const ran = await runScript(script);
    expect(ran.stderr).toMatch(/failed: job "slow" \(task 1 of 1: slow\/1\) timed out after 0\.5 s/);
    expect(ran.code).toBe(1);
  });

  it("refuses a plan with in-process TypeScript jobs, naming them (exit 2)", async () => {
    const result = await runDatabuild([
      "--graph",
      PODCAST_GRAPH,
      "compile",
      "--bash",
      "daily_summaries/category=comedy/date=2024-05-01",
    ]);
    expect(result.stderr).toMatch(/cannot compile: jobs "reviews" \(1 task: reviews\/date=2024-05-01\)/);
    expect(result.stderr).toMatch(/"podcasts" \(1 task: podcasts\/all\)/);
    expect(result.stderr).toMatch(/"daily_summaries" .* run in-process/);
    expect(result.stderr).not.toMatch(/"phrase_stats"/);
    expect(result.stdout).toBe("");
    expect(result.code).toBe(2);
  });

  it("says which target to compile to when --bash is missing (exit 2)", async () => {
    const result = await runDatabuild(["--graph", join(BASIC, "databuild.yaml"), "compile", "summary/month=2024-01"]);
    expect(result.stderr).toContain("say what to compile to: --bash");
    expect(result.code).toBe(2);
  });

  it("compiles the podcast example's command job once its in-process inputs are built; the script writes what a build writes", async () => {
    const dir = tempDir("databuild-compile-podcast-");
    const env = { PODCAST_REVIEWS_DATA: join(dir, "data") };
    const db = join(dir, "databuild.db");
    const upstream = "categorized_reviews/category=comedy/date=2024-05-01";
    const wanted = "phrase_stats/category=comedy/date=2024-05-01";
    const first = await runDatabuild(["--graph", PODCAST_GRAPH, "--db", db, "build", upstream], { env });
    expect(first.code).toBe(0);

    mkdirSync(join(dir, "project"));
    const script = await compile(join(dir, "project"), PODCAST_GRAPH, ["--skip-available", wanted], {
      ...env,
      DATABUILD_DB: db,
    });
    expect(readFileSync(script, "utf8")).toMatch(/^tasks=1$/m);
    const ran = await runScript(script);
    expect(ran.stderr).toContain("all 1 tasks succeeded");
    expect(ran.code).toBe(0);
    const output = join(dir, "data", `${wanted}.json`);
    const compiled = readFileSync(output, "utf8");
    expect(JSON.parse(compiled)).toHaveProperty("phrases");

    rmSync(output);
    const built = await runDatabuild(["--graph", PODCAST_GRAPH, "--db", db, "build", wanted], { env });
    expect(built.stderr).toMatch(/built 1 partition in 1 job/);
    expect(built.code).toBe(0);
    expect(readFileSync(output, "utf8")).toBe(compiled);
  });
});
