// src/gen/ is generated from proto/databuild.proto: it must be what
// `npm run generate` makes of the proto as committed, or the contract and
// the code that implements it have drifted apart.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "databuild-gen-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("src/gen", () => {
  it("is what buf generates from proto/databuild.proto now (run `npm run generate` after editing the proto)", () => {
    const buf = spawnSync(join(root, "node_modules/.bin/buf"), ["generate", "-o", out], {
      cwd: root,
      encoding: "utf8",
    });
    expect(buf.stderr).toBe("");
    expect(buf.status).toBe(0);
    const committed = readdirSync(join(root, "src/gen")).sort();
    const generated = readdirSync(join(out, "src/gen")).sort();
    expect(generated).toEqual(committed);
    expect(generated.length).toBeGreaterThan(0);
    for (const file of generated)
      expect(readFileSync(join(out, "src/gen", file), "utf8"), file).toBe(
        readFileSync(join(root, "src/gen", file), "utf8"),
      );
  });
});
