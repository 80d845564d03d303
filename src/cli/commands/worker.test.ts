// `databuild worker` and `build --launcher`: wrong use is exit 2, naming the
// flag; the pool itself is tested with real processes in src/workers/.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runDatabuild, tempDir } from "../../testing/run-cli.ts";

describe("databuild worker", () => {
  it("documents its flags and how the pool works in --help", async () => {
    const result = await runDatabuild(["worker", "--help"]);
    expect(result.code).toBe(0);
    for (const flag of ["--slots", "--label", "--heartbeat", "--heartbeat-timeout"])
      expect(result.stdout).toContain(flag);
    expect(result.stdout).toMatch(/same\s+paths/);
  });

  it.each([
    [["--label", "gpu"], /--label must be key=value, got "gpu"/],
    [["--slots", "0"], /--slots must be a whole number of at least 1/],
    [["--heartbeat", "2", "--heartbeat-timeout", "5"], /more than three --heartbeat periods/],
  ])("rejects %j with exit 2, naming the flag", async (flags, message) => {
    const db = join(tempDir(), "log.db");
    const result = await runDatabuild(["--db", db, "worker", ...flags]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it("build rejects a launcher it does not have, naming the choices", async () => {
    const result = await runDatabuild(["build", "--launcher", "kubernetes", "x/y=1"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--launcher.*Allowed choices are local, worker/);
  });
});
