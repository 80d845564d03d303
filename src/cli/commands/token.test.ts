import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hashToken } from "../../tokens/index.ts";
import { POSTGRES_BACKEND, SQLITE_BACKEND } from "../../testing/log-backends.ts";
import { runDatabuild, tempDir } from "../../testing/run-cli.ts";

const TOKEN_LINE = /^dbt_[A-Za-z0-9_-]{43}\n$/;

async function loggedEvents(location: string) {
  const log = await SQLITE_BACKEND.open(location, { readOnly: true });
  try {
    return (await log.read(0)).map((e) => e.event);
  } finally {
    await log.close();
  }
}

describe("databuild token", () => {
  it("create prints the token alone on stdout; only its hash is logged; list and events never show it", async () => {
    const dir = tempDir("databuild-token-");
    const db = join(dir, "log.db");
    const made = await runDatabuild(["token", "create", "--db", db, "--name", "ci", "--scope", "build"], { cwd: dir });
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(TOKEN_LINE);
    const token = made.stdout.trim();
    expect(made.stderr).toMatch(/^token ci created \(scopes: build\) in .*log\.db; it is shown once: keep it\n$/);

    const [event, ...more] = await loggedEvents(db);
    expect(more).toEqual([]);
    expect(event!.event.case).toBe("tokenCreated");
    const created = event!.event.case === "tokenCreated" ? event!.event.value : undefined;
    expect(created?.tokenHash).toBe(hashToken(token));
    expect(created?.tokenPrefix).toBe(token.slice(0, 8));
    expect(created?.createdBy).toMatch(/^[^@\s]+@\S+$/);

    // Nowhere in the database's files (the log, its WAL), nor in any output.
    for (const file of readdirSync(dir).filter((f) => f.startsWith("log.db")))
      expect(readFileSync(join(dir, file)).includes(token), file).toBe(false);
    for (const args of [["token", "list"], ["token", "list", "--json"], ["events"], ["events", "--json"]]) {
      const r = await runDatabuild([...args, "--db", db], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr, args.join(" ")).not.toContain(token);
      // The list never shows the hash either (events do: it is what the log holds).
      if (args[0] === "token") expect(r.stdout, args.join(" ")).not.toContain(created!.tokenHash);
    }
    const listed = await runDatabuild(["token", "list", "--db", db], { cwd: dir });
    expect(listed.stdout).toMatch(/^NAME +SCOPES +PREFIX +CREATED +BY +STATUS\n/);
    expect(listed.stdout).toMatch(
      new RegExp(`^ci +build +${token.slice(0, 8)}… +\\d{4}-\\d\\d-\\d\\dT\\S+Z +\\S+@\\S+ +live$`, "m"),
    );
    const json = await runDatabuild(["token", "list", "--json", "--db", db], { cwd: dir });
    const view = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(view).toMatchObject({ name: "ci", scopes: ["TOKEN_SCOPE_BUILD"], tokenPrefix: token.slice(0, 8) });
  });

  it("revoke marks a token revoked in the list; revoking it again or an unknown name exits 2", async () => {
    const dir = tempDir("databuild-token-");
    const env = { DATABUILD_DB: join(dir, "log.db") };
    for (const name of ["ci", "ops"]) {
      const r = await runDatabuild(["token", "create", "--name", name, "--scope", "read", "--scope", "admin"], {
        cwd: dir,
        env,
      });
      expect(r.code, r.stderr).toBe(0);
    }
    const revoked = await runDatabuild(["token", "revoke", "ci"], { cwd: dir, env });
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe("");
    expect(revoked.stderr).toMatch(/^token ci revoked in /);
    const listed = await runDatabuild(["token", "list"], { cwd: dir, env });
    expect(listed.stdout).toMatch(/^ci +read,admin +dbt_\S{4}… +\S+ +\S+ +revoked \d{4}-\S+Z by \S+@\S+$/m);
    expect(listed.stdout).toMatch(/^ops +read,admin .* live$/m);
    const json = (await runDatabuild(["token", "list", "--json"], { cwd: dir, env })).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { name: string; revoked?: boolean; revokedAt?: string });
    expect(json.map((v) => [v.name, v.revoked ?? false, typeof v.revokedAt])).toEqual([
      ["ci", true, "string"],
      ["ops", false, "undefined"],
    ]);

    const again = await runDatabuild(["token", "revoke", "ci"], { cwd: dir, env });
    expect(again.code).toBe(2);
    expect(again.stderr).toBe('databuild: error: token "ci" is revoked already\n');
    const unknown = await runDatabuild(["token", "revoke", "nobody"], { cwd: dir, env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no token named "nobody"');
    expect(await loggedEvents(env.DATABUILD_DB)).toHaveLength(3);
  });

  it("refuses a bad scope, a bad name, a taken name and a missing flag with exit 2, writing nothing", async () => {
    const dir = tempDir("databuild-token-");
    const db = join(dir, "log.db");
    const create = (...args: string[]) => runDatabuild(["token", "create", "--db", db, ...args], { cwd: dir });

    const scope = await create("--name", "ci", "--scope", "build", "--scope", "superuser");
    expect(scope.code).toBe(2);
    expect(scope.stdout).toBe("");
    expect(scope.stderr).toContain(
      `option '--scope <scope>' argument 'superuser' is invalid. unknown scope "superuser": the scopes are read, build, admin`,
    );
    expect(existsSync(db)).toBe(false);

    const missing = await create("--name", "ci");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--scope <scope>' not specified");

    const name = await create("--name", "ci bot", "--scope", "read");
    expect(name.code).toBe(2);
    expect(name.stdout).toBe("");
    expect(name.stderr).toBe(
      `databuild: error: invalid token name "ci bot": use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit\n`,
    );

    expect((await create("--name", "ci", "--scope", "read")).code).toBe(0);
    const taken = await create("--name", "ci", "--scope", "admin");
    expect(taken.code).toBe(2);
    expect(taken.stdout).toBe("");
    expect(taken.stderr).toContain('a token named "ci" exists already: revoke it first');
    expect(await loggedEvents(db)).toHaveLength(1);
  });

  it("has --help on each command, naming the scopes", async () => {
    for (const args of [["token"], ["token", "create"], ["token", "list"], ["token", "revoke"]]) {
      const r = await runDatabuild([...args, "--help"]);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: databuild ${args.join(" ")} `));
    }
    expect((await runDatabuild(["token", "create", "--help"])).stdout).toContain("read, build, admin");
  });

  it("keeps tokens in a PostgreSQL log given by --db", async () => {
    const url = await POSTGRES_BACKEND.freshLocation("");
    const made = await runDatabuild(["token", "create", "--db", url, "--name", "svc", "--scope", "read"]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(TOKEN_LINE);
    const log = await POSTGRES_BACKEND.open(url, { readOnly: true });
    try {
      const [logged] = await log.read(0);
      const value = logged!.event.event.case === "tokenCreated" ? logged!.event.event.value : undefined;
      expect(value?.tokenHash).toBe(hashToken(made.stdout.trim()));
    } finally {
      await log.close();
    }
    const listed = await runDatabuild(["token", "list", "--db", url]);
    expect(listed.stdout).toMatch(/^svc +read .* live$/m);
  });
});
