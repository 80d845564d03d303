import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AmbiguousPatternError, GraphDefinitionError } from "../core/errors.ts";
import { loadManifestFile } from "./load-manifest.ts";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "databuild-manifest-"));
}

function writeManifest(text: string, name = "databuild.yaml"): string {
  const file = join(tempDir(), name);
  writeFileSync(file, text);
  return file;
}

/** Loads `text` and returns the GraphDefinitionError it must cause, checking it names the file and line. */
async function definitionError(text: string, line: number, name = "databuild.yaml"): Promise<GraphDefinitionError> {
  const file = writeManifest(text, name);
  try {
    await loadManifestFile(file);
  } catch (error) {
    expect(error).toBeInstanceOf(GraphDefinitionError);
    expect((error as Error).message.startsWith(`${file}:${line}: `), (error as Error).message).toBe(true);
    return error as GraphDefinitionError;
  }
  throw new Error("the manifest loaded, expected a GraphDefinitionError");
}

const VALID = `# a comment on line 1
name: reviews
jobs:
  - label: raw
    outputs: ["raw/date={date}"]
    config: ["python3", "jobs/raw.py", "config"]
    exec: ["python3", "jobs/raw.py", "exec"]

  - label: clean
    version: "2.1.0"
    timeout_seconds: 1.5
    outputs:
      - "clean/date={date}"
      - "clean/category={category}/date={date}"
    config: [bash, jobs/clean.sh, config]
    exec: [bash, jobs/clean.sh, exec]
`;

const JOB = `    outputs: ["a/{x}"]
    config: ["true"]
    exec: ["true"]
`;

describe("loadManifestFile", () => {
  it("loads labels, patterns, versions, timeouts and line-numbered definitions", async () => {
    const file = writeManifest(VALID);
    const graph = await loadManifestFile(file);
    expect(graph.label).toBe("reviews");
    expect(graph.file).toBe(file);
    expect(graph.jobs.map((j) => j.label)).toEqual(["raw", "clean"]);
    const [raw, clean] = graph.jobs;
    expect(raw!.outputs.map((p) => p.source)).toEqual(["raw/date={date}"]);
    expect(clean!.outputs.map((p) => p.paramNames)).toEqual([["date"], ["category", "date"]]);
    expect(raw!.version).toBe("0.0.0");
    expect(clean!.version).toBe("2.1.0");
    expect(raw!.timeoutMs).toBeUndefined();
    expect(clean!.timeoutMs).toBe(1500);
    expect(raw!.definedAt).toBe(`${file}:4`);
    expect(clean!.definedAt).toBe(`${file}:9`);
    expect(clean!.exec).toEqual({ kind: "command", command: ["bash", "jobs/clean.sh", "exec"], cwd: join(file, "..") });
    expect(graph.producerOf("clean/category=books/date=2024-01-01")?.job.label).toBe("clean");
  });

  it("runs config commands in the manifest's directory, so relative script paths work", async () => {
    const file = writeManifest(VALID);
    const dir = join(file, "..");
    mkdirSync(join(dir, "jobs"));
    writeFileSync(
      join(dir, "jobs", "raw.py"),
      'import json, sys\njson.dump({"configs": [{"outputs": [{"str": r}], "args": [r]} for r in sys.argv[2:]]}, sys.stdout)\n',
    );
    const graph = await loadManifestFile(file);
    const [job, wanted] = [...graph.lookup(["raw/date=2024-05-01"])][0]!;
    const configs = await job.configure(wanted);
    expect(configs.map((c) => c.args)).toEqual([["raw/date=2024-05-01"]]);
  });

  it("loads the same graph from JSON", async () => {
    const json = {
      name: "reviews",
      jobs: [
        {
          label: "raw",
          outputs: ["raw/date={date}"],
          config: ["python3", "raw.py"],
          exec: ["python3", "raw.py"],
          version: "1.0.0",
        },
      ],
    };
    const file = writeManifest(JSON.stringify(json, null, "\t"), "databuild.json");
    const graph = await loadManifestFile(file);
    expect(graph.jobs.map((j) => [j.label, j.version, j.definedAt])).toEqual([["raw", "1.0.0", `${file}:4`]]);
  });
});

describe("loadManifestFile errors", () => {
  it("reports a YAML syntax error at its line", async () => {
    const error = await definitionError(`name: g\njobs:\n  - label: a\n    outputs: ["a/{x}"\n    config: [x]\n`, 5);
    expect(error.message).toContain("YAML syntax error");
  });

  it("reports an unknown job key at its line, suggesting the right one", async () => {
    const error = await definitionError(`name: g\njobs:\n  - label: a\n${JOB}    timeout: 5\n`, 7);
    expect(error.message).toContain(`jobs[0]: unknown key "timeout" (did you mean "timeout_seconds"?)`);
    expect(error.message).toContain("allowed keys: label, outputs, config, exec, version, timeout_seconds");
  });

  it("reports an unknown top-level key", async () => {
    const error = await definitionError(`name: g\nschedule: daily\njobs:\n  - label: a\n${JOB}`, 2);
    expect(error.message).toContain(`unknown key "schedule"`);
  });

  it("reports a job with no outputs", async () => {
    const error = await definitionError(
      `name: g\njobs:\n  - label: a\n    outputs: []\n    config: ["true"]\n    exec: ["true"]\n`,
      4,
    );
    expect(error.message).toContain("jobs[0].outputs: a job must list at least one output pattern");
  });

  it("reports a job missing a required key at the job's line", async () => {
    const error = await definitionError(
      `name: g\njobs:\n  - label: a\n${JOB}  - label: b\n    outputs: ["b/{x}"]\n    exec: ["true"]\n`,
      7,
    );
    expect(error.message).toContain("jobs[1].config: required key is missing");
  });

  it("reports an unnamed pattern parameter at the pattern's line", async () => {
    const text = `name: g\njobs:\n  - label: a\n    outputs:\n      - "a/date={date}"\n      - "a/{}"\n    config: ["true"]\n    exec: ["true"]\n`;
    const error = await definitionError(text, 6);
    expect(error.message).toContain(`jobs[0].outputs[1]: output pattern "a/{}": unnamed parameter`);
  });

  it("reports a duplicate pattern parameter", async () => {
    const error = await definitionError(
      `name: g\njobs:\n  - label: a\n    outputs: ["a/{x}/b/{x}"]\n    config: ["true"]\n    exec: ["true"]\n`,
      4,
    );
    expect(error.message).toContain("duplicate parameter {x}");
  });

  it("reports a duplicate label at the second job's label", async () => {
    const error = await definitionError(
      `name: g\njobs:\n  - label: a\n${JOB}  - label: a\n    outputs: ["b/{x}"]\n    config: ["true"]\n    exec: ["true"]\n`,
      7,
    );
    expect(error.message).toContain(`jobs[1].label: duplicate label "a": jobs[0] already uses it`);
  });

  it("reports a version that is not semver", async () => {
    const error = await definitionError(`name: g\njobs:\n  - label: a\n${JOB}    version: "1.0"\n`, 7);
    expect(error.message).toContain(`jobs[0].version: version "1.0" is not semver`);
  });

  it("asks for a quoted version when YAML read a number", async () => {
    const error = await definitionError(`name: g\njobs:\n  - label: a\n${JOB}    version: 1.0\n`, 7);
    expect(error.message).toContain("version must be a quoted string");
  });

  it("rejects a command written as a string, showing the list to write", async () => {
    const error = await definitionError(
      `name: g\njobs:\n  - label: a\n    outputs: ["a/{x}"]\n    config: python3 jobs/a.py config\n    exec: ["true"]\n`,
      5,
    );
    expect(error.message).toContain(
      `jobs[0].config: config must be a list of arguments, not a string: write ["python3","jobs/a.py","config"]`,
    );
  });

  it("rejects an empty command and a non-positive timeout", async () => {
    const error = await definitionError(
      `name: g\njobs:\n  - label: a\n    outputs: ["a/{x}"]\n    config: []\n    exec: ["true"]\n    timeout_seconds: 0\n`,
      5,
    );
    expect(error.message).toContain("jobs[0].config: config must name a program");
    // Every problem is listed, each with its own line.
    expect(error.message).toContain(":7: jobs[0].timeout_seconds: timeout_seconds must be a positive number");
  });

  it("loads a job's config limits; jobs without them get none of their own (the planner's defaults apply)", async () => {
    const graph = await loadManifestFile(
      writeManifest(
        `name: g\njobs:\n  - label: a\n${JOB}    config_timeout_seconds: 2.5\n    config_max_output_bytes: 1048576\n  - label: b\n    outputs: ["b/{x}"]\n    config: ["true"]\n    exec: ["true"]\n`,
      ),
    );
    const [a, b] = graph.jobs;
    expect(a!.configTimeoutMs).toBe(2500);
    expect(a!.configMaxOutputBytes).toBe(1_048_576);
    expect(b!.configTimeoutMs).toBeUndefined();
    expect(b!.configMaxOutputBytes).toBeUndefined();
  });

  it("loads a job's resources (cpus, memory as a size or bytes) for launchers that allocate them", async () => {
    const graph = await loadManifestFile(
      writeManifest(
        `name: g\njobs:\n  - label: a\n${JOB}    resources: { cpus: 4, memory: "1.5GiB" }\n  - label: b\n    outputs: ["b/{x}"]\n    config: ["true"]\n    exec: ["true"]\n    resources: { memory: 1048576 }\n`,
      ),
    );
    const [a, b] = graph.jobs;
    expect(a!.resources).toEqual({ cpus: 4, memoryBytes: 1.5 * 1024 ** 3 });
    expect(b!.resources).toEqual({ cpus: undefined, memoryBytes: 1_048_576 });
  });

  it("rejects resources that are not a whole number of CPUs or a memory size, at their line", async () => {
    const error = await definitionError(
      `name: g\njobs:\n  - label: a\n${JOB}    resources:\n      cpus: 0.5\n      memory: "lots"\n`,
      8,
    );
    expect(error.message).toContain(":8: jobs[0].resources.cpus: resources.cpus must be a whole number");
    expect(error.message).toContain(':9: jobs[0].resources.memory: resources.memory "lots" is not a size');
  });

  it("rejects config limits that are not positive, too long, or fractional bytes", async () => {
    const error = await definitionError(
      `name: g\njobs:\n  - label: a\n${JOB}    config_timeout_seconds: 0\n    config_max_output_bytes: 1.5\n  - label: b\n    outputs: ["b/{x}"]\n    config: ["true"]\n    exec: ["true"]\n    config_timeout_seconds: 100000\n`,
      7,
    );
    expect(error.message).toContain(
      ":7: jobs[0].config_timeout_seconds: config_timeout_seconds must be a positive number of seconds",
    );
    expect(error.message).toContain(
      ":8: jobs[0].config_max_output_bytes: config_max_output_bytes must be a whole number",
    );
    expect(error.message).toContain(
      ":13: jobs[1].config_timeout_seconds: config_timeout_seconds must be at most 86400",
    );
  });

  it("reports overlapping patterns of two jobs at the second pattern's line", async () => {
    const file = writeManifest(
      `name: g\njobs:\n  - label: a\n${JOB}  - label: b\n    outputs:\n      - "b/{y}"\n      - "a/x"\n    config: ["true"]\n    exec: ["true"]\n`,
    );
    const error = await loadManifestFile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AmbiguousPatternError);
    expect((error as Error).message).toContain(`${file}:10: jobs "a" and "b" can both produce the same partition`);
    expect((error as Error).message).toContain('both match "a/x"');
  });

  it("reports a manifest that is not a mapping", async () => {
    const error = await definitionError(`- just\n- a list\n`, 1);
    expect(error.message).toContain("the manifest must be a mapping with the keys `name` and `jobs`");
  });

  it("reports an empty job list and a wrongly typed name", async () => {
    const error = await definitionError(`name: [g]\njobs: []\n`, 1);
    expect(error.message).toContain("name: expected a string, got a list");
    expect(error.message).toContain(":2: jobs: the manifest must list at least one job");
  });

  it("reports invalid JSON at its line", async () => {
    const error = await definitionError(`{\n  "name": "g",\n  "jobs": [],\n}\n`, 4, "databuild.json");
    expect(error.message).toContain("invalid JSON");
  });

  it("finds the line of a JSON error that V8 reports without a position", async () => {
    const error = await definitionError(`{\n  "name": "g",\n  "jobs": [}\n`, 3, "databuild.json");
    expect(error.message).toContain("invalid JSON: Unexpected token '}'");
    expect(error.message).not.toContain("is not valid JSON");
  });

  it("reports duplicate keys in JSON", async () => {
    const error = await definitionError(`{\n  "name": "g",\n  "name": "h",\n  "jobs": []\n}\n`, 3, "databuild.json");
    expect(error.message).toContain("JSON syntax error");
  });

  it("names the path of a missing file", async () => {
    const file = join(tempDir(), "nowhere", "databuild.yaml");
    const error = await loadManifestFile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphDefinitionError);
    expect((error as Error).message).toBe(`${file}: manifest file not found`);
  });

  it("rejects a file that is not .yaml, .yml or .json", async () => {
    const file = writeManifest("name: g\n", "databuild.toml");
    const error = await loadManifestFile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphDefinitionError);
    expect((error as Error).message).toContain(`${file}: a manifest must be a .yaml, .yml or .json file`);
  });
});
