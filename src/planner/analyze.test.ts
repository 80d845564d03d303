import { describe, expect, it } from "vitest";
import { DepType } from "../gen/databuild_pb.ts";
import type { EventPayload } from "../core/build-event.ts";
import {
  AmbiguousPatternError,
  ConfigError,
  CycleError,
  MalformedRefError,
  UnmatchedRefError,
} from "../core/errors.ts";
import { defineJob as job, materialize, query, type DefinedJob } from "../gsl/define-job.ts";
import { gslGraph, noop } from "../testing/gsl-graph.ts";
import { analyze, AnalyzeCancelledError } from "./analyze.ts";

const pipeline = gslGraph([
  job({ label: "raw", outputs: ["raw/date={date}"], exec: noop }),
  job({
    label: "clean",
    outputs: ["clean/date={date}"],
    config: ({ date }) => ({ inputs: [`raw/date=${date}`], args: [date] }),
    exec: noop,
  }),
  job({
    label: "weekly",
    outputs: ["weekly/week={week}"],
    config: ({ week }) => ({
      inputs: [1, 2, 3].map((d) => `clean/date=${week}-0${d}`).concat([]),
      args: [week],
    }),
    exec: noop,
  }),
]);

function order(labels: { job?: { label: string }; config?: { outputs: { str: string }[] } }[]) {
  return labels.map((t) => t.config!.outputs.map((o) => o.str).join(","));
}

describe("analyze", () => {
  it("walks back from requested refs to a dependency-ordered task graph", async () => {
    const graph = await analyze(pipeline, ["weekly/week=w1"]);
    const outputs = order(graph.nodes);
    expect(outputs).toHaveLength(7);
    for (const d of [1, 2, 3]) {
      expect(outputs.indexOf(`raw/date=w1-0${d}`)).toBeLessThan(outputs.indexOf(`clean/date=w1-0${d}`));
      expect(outputs.indexOf(`clean/date=w1-0${d}`)).toBeLessThan(outputs.indexOf("weekly/week=w1"));
    }
    expect(graph.outputs.map((o) => o.str)).toEqual(["weekly/week=w1"]);
    expect(graph.label).toBe("test_graph");
    const clean = graph.nodes.find((t) => t.job!.label === "clean")!;
    expect(clean.config!.args).toHaveLength(1);
  });

  it("shares inputs between requested refs and plans each partition once", async () => {
    const graph = await analyze(pipeline, ["weekly/week=w1", "clean/date=w1-02", "weekly/week=w1"]);
    expect(graph.nodes).toHaveLength(7);
    expect(graph.outputs).toHaveLength(2);
  });

  it("calls each job's config once per round with all of its refs", async () => {
    const calls: string[][] = [];
    const g = gslGraph([
      job({
        label: "src",
        outputs: ["src/{n}"],
        configBatch: (w) => (calls.push(w.map((x) => x.ref)), w.map((x) => ({ outputs: [x.ref] }))),
        exec: noop,
      }),
      job({
        label: "sum",
        outputs: ["sum/{n}"],
        config: ({ n }) => ({ inputs: [`src/${n}`, `src/${Number(n) + 1}`] }),
        exec: noop,
      }),
    ]);
    await analyze(g, ["sum/1", "sum/2", "sum/3"]);
    expect(calls).toEqual([["src/1", "src/2", "src/3", "src/4"]]);
  });

  it("records QUERY inputs without building them, even when no job produces them", async () => {
    const g = gslGraph([
      job({
        label: "a",
        outputs: ["a/{d}"],
        config: ({ d }) => ({ inputs: [query(`external/${d}`), query(`a/prev-${d}`), materialize(`b/${d}`)] }),
        exec: noop,
      }),
      job({ label: "b", outputs: ["b/{d}"], exec: noop }),
    ]);
    const graph = await analyze(g, ["a/1"]);
    expect(order(graph.nodes)).toEqual(["b/1", "a/1"]);
    const deps = graph.nodes[1]!.config!.inputs.map((i) => [i.partitionRef!.str, i.depType]);
    expect(deps).toEqual([
      ["external/1", DepType.QUERY],
      ["a/prev-1", DepType.QUERY],
      ["b/1", DepType.MATERIALIZE],
    ]);
  });

  it("lets a batched config produce extra outputs that are not dispatched again", async () => {
    let calls = 0;
    const g = gslGraph([
      job({
        label: "month",
        outputs: ["day/{d}"],
        configBatch: () => (calls++, [{ outputs: ["day/1", "day/2", "day/3"] }]),
        exec: noop,
      }),
      job({ label: "use", outputs: ["use/{d}"], config: ({ d }) => ({ inputs: [`day/${d}`, "day/2"] }), exec: noop }),
    ]);
    const graph = await analyze(g, ["use/1"]);
    expect(calls).toBe(1);
    expect(graph.nodes).toHaveLength(2);
  });

  it("handles a 100,000-deep chain without overflowing the stack", async () => {
    const g = gslGraph([
      job({
        label: "step",
        outputs: ["step/{i}"],
        config: ({ i }) => ({ inputs: i === "0" ? [] : [`step/${Number(i) - 1}`] }),
        exec: noop,
      }),
    ]);
    const graph = await analyze(g, ["step/99999"]);
    expect(graph.nodes).toHaveLength(100_000);
    expect(graph.nodes[0]!.config!.outputs[0]!.str).toBe("step/0");
    expect(graph.nodes[99_999]!.config!.outputs[0]!.str).toBe("step/99999");
  });

  it("reports a cycle as the chain of refs around it", async () => {
    const g = gslGraph([
      job({ label: "a", outputs: ["a/{x}"], config: ({ x }) => ({ inputs: [`b/${x}`] }), exec: noop }),
      job({ label: "b", outputs: ["b/{x}"], config: ({ x }) => ({ inputs: [`c/${x}`] }), exec: noop }),
      job({ label: "c", outputs: ["c/{x}"], config: ({ x }) => ({ inputs: [`a/${x}`] }), exec: noop }),
      job({ label: "top", outputs: ["top"], config: () => ({ inputs: ["a/1"] }), exec: noop }),
    ]);
    const events: EventPayload[] = [];
    const error = await analyze(g, ["top"], { emit: (e) => events.push(e) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CycleError);
    const cycle = (error as CycleError).cycle;
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
    expect(new Set(cycle)).toEqual(new Set(["a/1", "b/1", "c/1"]));
    expect((error as Error).message).toMatch(
      /a\/1 -> b\/1 -> c\/1 -> a\/1|b\/1 -> c\/1 -> a\/1 -> b\/1|c\/1 -> a\/1 -> b\/1 -> c\/1/,
    );
    expect(events.map((e) => e.case).slice(-2)).toEqual(["cycleDetected", "graphAnalyzeFail"]);
  });

  it("reports a self-dependency as a cycle", async () => {
    const g = gslGraph([
      job({ label: "self", outputs: ["s/{x}"], config: ({ x }) => ({ inputs: [`s/${x}`] }), exec: noop }),
    ]);
    await expect(analyze(g, ["s/1"])).rejects.toThrow("dependency cycle: s/1 -> s/1");
  });

  it("names an unmatched ref, the job that needed it and every pattern", async () => {
    const g = gslGraph([
      job({ label: "a", outputs: ["a/{x}"], config: ({ x }) => ({ inputs: [`missing/${x}`] }), exec: noop }),
    ]);
    const error = await analyze(g, ["a/1"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnmatchedRefError);
    expect((error as Error).message).toContain('"missing/1"');
    expect((error as Error).message).toContain('needed by job "a"');
    expect((error as Error).message).toContain("a/{x}");
    await expect(analyze(g, ["nope"])).rejects.toThrow(/no job produces partition "nope"/);
  });

  it("rejects malformed requested refs before configuring anything", async () => {
    await expect(analyze(pipeline, ["raw/date=1", "bad ref"])).rejects.toBeInstanceOf(MalformedRefError);
  });

  describe("config contract", () => {
    const cases: [string, DefinedJob, RegExp][] = [
      [
        "throws",
        job({
          label: "j",
          outputs: ["j/{x}"],
          config: () => {
            throw new Error("boom");
          },
          exec: noop,
        }),
        /config of job "j" failed for j\/1: boom/,
      ],
      [
        "omits a requested ref",
        job({ label: "j", outputs: ["j/{x}"], configBatch: () => [], exec: noop }),
        /"j\/1" not in the outputs/,
      ],
      [
        "produces a ref twice",
        job({
          label: "j",
          outputs: ["j/{x}"],
          configBatch: (w) => [{ outputs: [w[0]!.ref] }, { outputs: [w[0]!.ref] }],
          exec: noop,
        }),
        /produced by more than one config/,
      ],
      [
        "produces another job's ref",
        job({ label: "j", outputs: ["j/{x}"], configBatch: () => [{ outputs: ["j/1", "k/1"] }], exec: noop }),
        /"k\/1" does not match the job's output patterns/,
      ],
      [
        "names a malformed input",
        job({ label: "j", outputs: ["j/{x}"], config: () => ({ inputs: ["has space"] }), exec: noop }),
        /input ref "has space" is malformed/,
      ],
      [
        "returns a config with no outputs",
        job({
          label: "j",
          outputs: ["j/{x}"],
          configBatch: (w) => [{ outputs: [w[0]!.ref] }, { outputs: [] }],
          exec: noop,
        }),
        /no outputs/,
      ],
    ];
    it.each(cases)("fails when config %s, naming the job and ref", async (_name, spec, message) => {
      const events: EventPayload[] = [];
      const error = await analyze(gslGraph([spec]), ["j/1"], { emit: (e) => events.push(e) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(message);
      expect(events.at(-1)?.case).toBe("graphAnalyzeFail");
    });
  });

  it("emits the job.config and graph.analyze steps in order on success", async () => {
    const events: EventPayload[] = [];
    await analyze(pipeline, ["clean/date=1"], { emit: (e) => events.push(e) });
    expect(events.map((e) => e.case)).toEqual([
      "argValidateSuccess",
      "configSuccess",
      "argValidateSuccess",
      "configSuccess",
      "jobGraph",
    ]);
  });

  it("refuses a graph whose jobs' patterns overlap, naming both jobs", () => {
    expect(() =>
      gslGraph([
        job({ label: "one", outputs: ["x/{a}"], exec: noop }),
        job({ label: "two", outputs: ["x/special"], exec: noop }),
      ]),
    ).toThrowError(AmbiguousPatternError);
    expect(() =>
      gslGraph([
        job({ label: "one", outputs: ["x/{a}"], exec: noop }),
        job({ label: "two", outputs: ["x/special"], exec: noop }),
      ]),
    ).toThrowError(/jobs "one" and "two".*"x\/special"/);
  });
});

describe("analyze: config limits and cancel", () => {
  /** A job whose async config never settles, recording whether its signal was aborted. */
  function hanging(label: string, spec: { configTimeoutSeconds?: number; batched?: boolean } = {}) {
    const seen: { aborted?: boolean; reason?: unknown } = {};
    const never = (signal: AbortSignal) =>
      new Promise<never>(() => {
        signal.addEventListener("abort", () => Object.assign(seen, { aborted: true, reason: signal.reason }));
      });
    const defined = spec.batched
      ? job({
          label,
          outputs: [`${label}/{x}`],
          configTimeoutSeconds: spec.configTimeoutSeconds,
          configBatch: (_wanted, { signal }) => never(signal),
          exec: noop,
        })
      : job({
          label,
          outputs: [`${label}/{x}`],
          configTimeoutSeconds: spec.configTimeoutSeconds,
          config: (_params, _ref, { signal }) => never(signal),
          exec: noop,
        });
    return { defined, seen };
  }

  async function failure(run: Promise<unknown>): Promise<{ error: Error; ms: number }> {
    const start = Date.now();
    const error = await run.then(
      () => new Error("analysis succeeded"),
      (e: Error) => e,
    );
    return { error, ms: Date.now() - start };
  }

  it("fails a config function whose promise never settles at the job's configTimeoutSeconds", async () => {
    const { defined, seen } = hanging("slow", { configTimeoutSeconds: 0.3 });
    const events: EventPayload[] = [];
    // The job's own limit wins over the caller's (the --config-timeout flag).
    const { error, ms } = await failure(
      analyze(gslGraph([defined]), ["slow/1", "slow/2"], {
        emit: (e) => events.push(e),
        configLimits: { timeoutMs: 60_000 },
      }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      'config of job "slow" failed for slow/1, slow/2: config function did not settle within its time limit of 0.3 s (the job\'s configTimeoutSeconds)',
    );
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(2000);
    expect(seen.aborted).toBe(true);
    expect(events.map((e) => e.case)).toEqual([
      "argValidateSuccess",
      "configFail",
      "jobConfigFail",
      "graphAnalyzeFail",
    ]);
  });

  it("holds a batched config function to the caller's limit when the job sets none", async () => {
    const { defined } = hanging("batch", { batched: true });
    const { error } = await failure(analyze(gslGraph([defined]), ["batch/1"], { configLimits: { timeoutMs: 200 } }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain("time limit of 0.2 s (set by --config-timeout)");
  });

  it("stops at a cancel: the config's signal aborts and analyze throws AnalyzeCancelledError", async () => {
    const { defined, seen } = hanging("slow");
    const controller = new AbortController();
    const pending = failure(analyze(gslGraph([defined]), ["slow/1"], { signal: controller.signal }));
    setTimeout(() => controller.abort("interrupted (SIGINT)"), 100);
    const { error, ms } = await pending;
    expect(error).toBeInstanceOf(AnalyzeCancelledError);
    expect(error.message).toBe("planning cancelled: interrupted (SIGINT)");
    expect(ms).toBeLessThan(1000);
    expect(seen).toEqual({ aborted: true, reason: "interrupted (SIGINT)" });
  });

  it("stops the round's other configs as soon as one fails, and reports that failure", async () => {
    const { defined, seen } = hanging("slow");
    const broken = job({
      label: "broken",
      outputs: ["broken/{x}"],
      config: async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new Error("catalog unreachable");
      },
      exec: noop,
    });
    const { error, ms } = await failure(analyze(gslGraph([defined, broken]), ["slow/1", "broken/1"]));
    expect(error.message).toBe('config of job "broken" failed for broken/1: catalog unreachable');
    expect(ms).toBeLessThan(1000);
    expect(seen).toEqual({ aborted: true, reason: 'the config of job "broken" failed' });
  });

  it("passes a cancel signal to a wide round without piling listeners on one signal", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    try {
      const jobs = Array.from({ length: 30 }, (_, i) =>
        job({ label: `j${i}`, outputs: [`j${i}/{x}`], config: async () => ({}), exec: noop }),
      );
      const graph = await analyze(
        gslGraph(jobs),
        jobs.map((_, i) => `j${i}/1`),
        { signal: new AbortController().signal },
      );
      expect(graph.nodes).toHaveLength(30);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.includes("listeners"))).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("calls no config at all once cancelled", async () => {
    let called = false;
    const graph = gslGraph([
      job({
        label: "a",
        outputs: ["a/{x}"],
        config: () => {
          called = true;
          return {};
        },
        exec: noop,
      }),
    ]);
    const { error } = await failure(analyze(graph, ["a/1"], { signal: AbortSignal.abort("stop") }));
    expect(error).toBeInstanceOf(AnalyzeCancelledError);
    expect(called).toBe(false);
  });

  it("rejects a configTimeoutSeconds that is not a positive number of seconds", () => {
    expect(() => gslGraph([job({ label: "a", outputs: ["a/{x}"], configTimeoutSeconds: 0, exec: noop })])).toThrow(
      /job "a": `configTimeoutSeconds` must be a positive number of seconds/,
    );
  });
});
