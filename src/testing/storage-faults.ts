/**
 * @module Test helper: real storage faults for tests of the event log and
 * the CLI. A small tmpfs to fill, a read-only bind mount, and running the
 * real bin as an unprivileged user. Each needs root (or that user); probes
 * say why not, so tests skip with the reason instead of failing. Mounts are
 * remembered and `unmountAll` (in afterAll) removes what a failed test left.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DATABUILD_BIN, runProcess, type CliResult } from "./run-cli.ts";

/** Whether a facility is there: `reason` says why not. */
export type Probe = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const mounted: string[] = [];

function run(argv: readonly string[]): { ok: boolean; output: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  if (r.error) return { ok: false, output: r.error.message };
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

/** A new empty folder under the OS temp dir that every user may enter and read (mkdtemp makes 0700 ones). */
export function openTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN, outside a locked-down container). */
export function probeMounts(): Probe {
  if (process.platform !== "linux") return { ok: false, reason: "mounting a tmpfs needs Linux" };
  if (process.getuid?.() !== 0) return { ok: false, reason: "mounting a tmpfs needs root" };
  const dir = mkdtempSync(join(tmpdir(), "databuild-probe-"));
  try {
    const m = run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
    if (!m.ok) return { ok: false, reason: `mount -t tmpfs is not allowed here (${m.output || "no output"})` };
    run(["umount", dir]);
    return { ok: true };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Mounts a tmpfs of `bytes` on a new folder and returns the folder. */
export function mountTmpfs(bytes: number): string {
  const dir = openTempDir("databuild-tmpfs-");
  const m = run(["mount", "-t", "tmpfs", "-o", `size=${bytes},mode=0755`, "tmpfs", dir]);
  if (!m.ok) throw new Error(`mount -t tmpfs on ${dir} failed: ${m.output}`);
  mounted.push(dir);
  return dir;
}

/** Shows `dir` read-only at a new folder (a bind mount remounted ro) and returns that folder. */
export function bindReadOnly(dir: string): string {
  const at = openTempDir("databuild-ro-");
  const b = run(["mount", "--bind", dir, at]);
  if (!b.ok) throw new Error(`mount --bind ${dir} ${at} failed: ${b.output}`);
  mounted.push(at);
  const r = run(["mount", "-o", "remount,ro,bind", at]);
  if (!r.ok) throw new Error(`mount -o remount,ro,bind ${at} failed: ${r.output}`);
  return at;
}

/** Unmounts `dir` (lazily if busy) and removes the folder. */
export function unmount(dir: string): void {
  const i = mounted.indexOf(dir);
  if (i >= 0) mounted.splice(i, 1);
  if (!run(["umount", dir]).ok) run(["umount", "-l", dir]);
  rmSync(dir, { recursive: true, force: true });
}

/** Unmounts everything mounted here and not yet unmounted (for afterAll, so a failed test leaves no mount). */
export function unmountAll(): void {
  for (const dir of [...mounted].reverse()) unmount(dir);
}

/** Fills the file system holding `dir` until no byte is left; returns the filler file. */
export function fillUp(dir: string): string {
  const filler = join(dir, "filler");
  run(["dd", "if=/dev/zero", `of=${filler}`, "bs=4096"]); // stops at ENOSPC
  // Whatever dd left of its last block: take it a byte at a time.
  for (let i = 0; i < 8192; i++) {
    try {
      writeFileSync(filler, Buffer.alloc(1), { flag: "a" });
    } catch {
      return filler;
    }
  }
  throw new Error(`${dir} does not fill up`);
}

export const UNPRIVILEGED_USER = "nobody";

/**
 * Whether `user` can run the repo's bin with this node: runuser exists (we
 * are root), and the user may reach node, the bin and the repo's files.
 */
export function probeUser(user = UNPRIVILEGED_USER): Probe {
  if (process.getuid?.() !== 0) return { ok: false, reason: `running as ${user} needs root (runuser)` };
  const r = run([
    "runuser",
    "-u",
    user,
    "--",
    process.execPath,
    "-e",
    `require("fs").accessSync(${JSON.stringify(DATABUILD_BIN)}, require("fs").constants.R_OK)`,
  ]);
  if (!r.ok) return { ok: false, reason: `${user} cannot run ${process.execPath} on ${DATABUILD_BIN} (${r.output})` };
  return { ok: true };
}

/** Runs `databuild ...args` as `user` (runuser), in `cwd`, and collects its output. */
export function runDatabuildAs(
  user: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<CliResult> {
  return runProcess("runuser", ["-u", user, "--", process.execPath, DATABUILD_BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, DATABUILD_GRAPH: "", DATABUILD_DB: "", HOME: options.cwd, ...options.env },
  });
}

/** Every file in `dir` (not recursive) with its size, mtime and content hash: equal before and after means untouched. */
export function folderSnapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const s = statSync(path);
    const hash = s.isFile() ? createHash("sha256").update(readFileSync(path)).digest("hex") : "dir";
    files[name] = `${s.size} bytes, mtime ${s.mtimeMs}, mode ${(s.mode & 0o7777).toString(8)}, ${hash}`;
  }
  return files;
}
