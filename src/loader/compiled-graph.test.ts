/**
 * The compiled-graph cache: a TypeScript ES module graph is compiled once,
 * reused while its files are unchanged, compiled again after an edit, each
 * local file keeping its own import.meta; graphs it cannot compile exactly
 * as tsx would are left to tsx.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir, writeFiles } from "../testing/run-cli.ts";
import { compiledGraphUrl } from "./compiled-graph.ts";

const GRAPH = `import { here, value } from "./lib/values.ts";
export const self = import.meta.filename;
export const dir = import.meta.dirname;
export { here, value };
`;
const values = (value: number) => `export const here: string = import.meta.url;
export const value: number = ${value};
`;

const project = (files: Record<string, string>): string => writeFiles(tempDir(), files);

describe("compiledGraphUrl", () => {
  const enabled = process.sourceMapsEnabled;
  // The CLI runs with source maps on (bin/databuild.js); without them the cache is not used.
  beforeAll(() => process.setSourceMapsEnabled(true));
  afterAll(() => process.setSourceMapsEnabled(enabled));

  it("compiles an ES module graph once, reuses it while unchanged and compiles it again after an edit", async () => {
    const dir = project({ "package.json": '{ "type": "module" }', "databuild.ts": GRAPH });
    mkdirSync(join(dir, "lib"));
    writeFileSync(join(dir, "lib", "values.ts"), values(1));
    const file = join(dir, "databuild.ts");

    const url = await compiledGraphUrl(file);
    expect(url).toMatch(/\/\.databuild\/graph-cache\/databuild-[0-9a-f]{16}\.mjs$/);
    const compiled = fileURLToPath(url!);
    const stampFile = compiled.replace(/\.mjs$/, ".json");
    const written = statSync(stampFile).mtimeMs;
    const first = (await import(`${url}?first`)) as Record<string, unknown>;
    // Each file sees its own import.meta, as under tsx.
    expect(first).toMatchObject({
      self: file,
      dir,
      here: pathToFileURL(join(dir, "lib", "values.ts")).href,
      value: 1,
    });
    const stamp = JSON.parse(readFileSync(stampFile, "utf8")) as { inputs: [string][] };
    expect(stamp.inputs.map(([path]) => path).sort()).toEqual(
      [join(dir, "databuild.ts"), join(dir, "lib", "values.ts"), join(dir, "package.json")].sort(),
    );

    expect(await compiledGraphUrl(file)).toBe(url);
    expect(statSync(stampFile).mtimeMs).toBe(written); // not compiled again

    writeFileSync(join(dir, "lib", "values.ts"), values(2));
    expect(await compiledGraphUrl(file)).toBe(url);
    expect(((await import(`${url}?second`)) as Record<string, unknown>).value).toBe(2);
  });

  it("leaves to tsx a graph compiled as CommonJS, one whose tsconfig extends another, and one that would keep import.meta", async () => {
    const commonJs = project({ "package.json": "{}", "databuild.ts": "export const x = 1;\n" });
    expect(await compiledGraphUrl(join(commonJs, "databuild.ts"))).toBeUndefined();

    const extending = project({
      "package.json": '{ "type": "module" }',
      "tsconfig.json": '{ "extends": "./base.json" }',
      "base.json": "{}",
      "databuild.ts": "export const x = 1;\n",
    });
    expect(await compiledGraphUrl(join(extending, "databuild.ts"))).toBeUndefined();

    const resolving = project({
      "package.json": '{ "type": "module" }',
      "databuild.ts": 'export const x = import.meta.resolve("./y.js");\n',
    });
    expect(await compiledGraphUrl(join(resolving, "databuild.ts"))).toBeUndefined();
  });

  it("is not used without source maps (frames would name the cache file)", async () => {
    const dir = project({ "package.json": '{ "type": "module" }', "databuild.ts": "export const x = 1;\n" });
    process.setSourceMapsEnabled(false);
    try {
      expect(await compiledGraphUrl(join(dir, "databuild.ts"))).toBeUndefined();
    } finally {
      process.setSourceMapsEnabled(true);
    }
    expect(await compiledGraphUrl(join(dir, "databuild.ts"))).toBeDefined();
  });
});
