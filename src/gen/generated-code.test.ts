// The TypeScript in src/gen must be exactly what buf + protoc-gen-es generate
// from proto/databuild.proto; run `npm run generate` after changing the proto.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const out = mkdtempSync(join(tmpdir(), "databuild-gen-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("generated protobuf code", () => {
  it("is current with proto/databuild.proto", () => {
    const bin = join(root, "node_modules", ".bin");
    const result = spawnSync(join(bin, "buf"), ["generate", "--template", "buf.gen.yaml", "-o", out], {
      cwd: root,
      env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}` },
      encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const committed = readdirSync(join(root, "src/gen")).filter((f) => f.endsWith("_pb.ts"));
    const fresh = readdirSync(join(out, "src/gen"));
    expect(fresh.sort()).toEqual(committed.sort());
    for (const file of fresh) {
      const same = readFileSync(join(out, "src/gen", file), "utf8") === readFileSync(join(root, "src/gen", file), "utf8");
      expect(same, `src/gen/${file} is stale: run \`npm run generate\``).toBe(true);
    }
  });
});
