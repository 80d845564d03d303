// The mermaid output must render in the real mermaid library, so it is
// rendered in headless Chromium, not only compared as text.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineJob as job, query } from "../gsl/define-job.ts";
import { launchChromium } from "../testing/chromium.ts";
import { gslGraph, noop } from "../testing/gsl-graph.ts";
import { analyze } from "./analyze.ts";
import { jobGraphToMermaid } from "./mermaid.ts";

const graph = gslGraph([
  job({ label: "raw", outputs: ["raw/date={date}"], exec: noop }),
  job({
    label: 'clean "quoted" #1',
    outputs: ["clean/date={date}"],
    config: ({ date }) => ({ inputs: [`raw/date=${date}`, query(`clean/date=${date}-prev`)] }),
    exec: noop,
  }),
  job({
    label: "weekly",
    outputs: ["weekly/w={w}"],
    config: () => ({ inputs: ["clean/date=1", "clean/date=2"] }),
    exec: noop,
  }),
]);

describe("mermaid", () => {
  it("draws partitions, jobs, solid MATERIALIZE and dotted QUERY edges", async () => {
    const text = jobGraphToMermaid(await analyze(graph, ["weekly/w=1"]));
    expect(text.startsWith("flowchart LR\n")).toBe(true);
    expect(text).toContain('(["raw/date=1"])');
    expect(text).toMatch(/p\d+ -\.-> t\d+/);
    expect(text).toContain("clean #quot;quoted#quot; #35;1");
    expect(text.match(/\["weekly"\]/g)).toHaveLength(1);
    expect(text).toMatch(/class p\d+ requested;/);
  });

  describe("in the real mermaid library", () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it("renders to an SVG with a node per partition and job", async () => {
      const jobGraph = await analyze(graph, ["weekly/w=1"]);
      const source = jobGraphToMermaid(jobGraph);
      const page = await browser.newPage();
      const mermaidJs = readFileSync(createRequire(import.meta.url).resolve("mermaid/dist/mermaid.min.js"), "utf8");
      await page.setContent("<!doctype html><html><body></body></html>");
      await page.addScriptTag({ content: mermaidJs });
      const svg = await page.evaluate(async (text) => {
        const m = (
          globalThis as unknown as {
            mermaid: { initialize(o: object): void; render(id: string, t: string): Promise<{ svg: string }> };
          }
        ).mermaid;
        m.initialize({ startOnLoad: false });
        return (await m.render("graph", text)).svg;
      }, source);
      expect(svg).toContain("<svg");
      expect(svg).not.toContain("Syntax error");
      for (const label of ["raw/date=1", "clean/date=2", "weekly/w=1", "weekly"]) expect(svg).toContain(label);
      expect(svg).toContain('clean "quoted" #1');
      const nodes = (svg.match(/class="node /g) ?? []).length;
      const partitions = new Set(
        jobGraph.nodes.flatMap((t) => [
          ...t.config!.outputs.map((o) => o.str),
          ...t.config!.inputs.map((i) => i.partitionRef!.str),
        ]),
      );
      expect(nodes).toBe(partitions.size + jobGraph.nodes.length);
    });
  });
});
