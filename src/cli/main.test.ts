// The composition root loads only the command it runs (SPEC 4: fast start);
// the others are listed from COMMANDS, which must say what their modules declare.
import { Command, Help } from "commander";
import { describe, expect, it } from "vitest";
import type { CommandContext } from "./context.ts";
import { COMMANDS, commandNamed } from "./main.ts";
import { runCliCaptured as cli } from "./run-cli-captured.ts";

/** Runs the CLI in-process and collects its output. */

describe("lazy command loading", () => {
  it("lists every command as its module declares it (update COMMANDS in main.ts when one changes)", async () => {
    const program = new Command("databuild");
    const context = (): CommandContext => {
      throw new Error("not run");
    };
    for (const entry of COMMANDS) (await entry.load())(program, context, () => {});
    const help = new Help();
    expect(COMMANDS.map(({ name, term, description }) => ({ name, term, description }))).toEqual(
      program.commands.map((c) => ({ name: c.name(), term: help.subcommandTerm(c), description: c.description() })),
    );
  });

  it.each([
    [["builds"], "builds"],
    [["--db", "x.db", "events", "--follow"], "events"],
    [["--graph=g.ts", "build", "a/1"], "build"],
    [["--graph", "build", "status", "a/1"], "status"],
    [["help", "explain"], "explain"],
    [["--db", "x", "help", "--graph", "g", "jobs"], "jobs"],
    [["--", "logs", "r1"], "logs"],
    [["--help"], undefined],
    [["-h", "build"], undefined],
    [["--json", "events"], undefined],
    [["--dbx", "events"], undefined],
    [["help"], undefined],
    [[], undefined],
  ])("finds the command %j runs: %s", (argv, name) => {
    expect(commandNamed(argv)).toBe(name);
  });

  it("answers --version without loading a command", async () => {
    expect(await cli(["--version"])).toEqual({ code: 0, stdout: "0.1.0\n", stderr: "" });
    expect((await cli(["--db", "x", "-V"])).stdout).toBe("0.1.0\n");
  });

  it("lists every command in --help without loading it, and loads the one asked about", async () => {
    const listed = await cli(["--help"]);
    expect(listed.code).toBe(0);
    for (const { term, name } of COMMANDS)
      expect(listed.stdout, name).toMatch(new RegExp(`^  ${term.replace(/[.[\]]/g, "\\$&")} +\\S`, "m"));
    expect(listed.stdout).toMatch(/^  help \[command\] +display help for command$/m);
    // `help` of one command loads it: its options are listed.
    const events = await cli(["help", "events"]);
    expect(events.stdout).toContain("--follow");
    expect((await cli(["events", "--help"])).stdout).toBe(events.stdout);
  });

  it("suggests a command it did not load", async () => {
    const result = await cli(["buils"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'buils'[\s\S]*builds/);
  });
});
