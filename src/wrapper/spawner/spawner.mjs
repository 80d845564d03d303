/**
 * @module databuild job spawner (Node): spawns job processes for a large parent that should not fork per job.
 *
 * Started once per ProcessJobRunner by spawner-client.ts, which documents the
 * protocol; spawner.py speaks the same one. A small Node process forks far
 * faster than databuild's big one (fork copies the page tables). Plain
 * JavaScript with no imports beyond node:, so that it runs from src/ and next
 * to the dist/ bundle alike. Exits when its stdin reaches EOF (its parent
 * closed it or died, even by SIGKILL). Jobs still running then are ended
 * first (SIGTERM to each process group, up to 2 s of grace, then SIGKILL):
 * nobody is left to record their result, and another build will take their
 * work over, which must not race with an orphan still writing its outputs.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const [READY, SPAWNED, SPAWN_ERROR, STDOUT, STDERR, EXIT, CLOSED] = [0, 1, 2, 3, 4, 5, 6];
/** id -> { child, status } */
const jobs = new Map();
let queued = [];
let scheduled = false;
/** Set once the parent is gone: no request is taken and no frame sent any more. */
let ending = false;
/** How long jobs ended at stdin EOF get between SIGTERM and SIGKILL, and then to be gone after SIGKILL. */
const TERM_GRACE_MS = 2000;
const KILL_WAIT_MS = 1000;

function send(kind, id, payload = Buffer.alloc(0)) {
  if (ending) return;
  const header = Buffer.allocUnsafe(9);
  header.writeUInt8(kind, 0);
  header.writeUInt32LE(id, 1);
  header.writeUInt32LE(payload.length, 5);
  queued.push(header, payload);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}

function flush() {
  scheduled = false;
  const data = Buffer.concat(queued);
  queued = [];
  process.stdout.write(data);
}

const json = (value) => Buffer.from(JSON.stringify(value));

function start(request) {
  const { id, argv, cwd, env, stdin } = request;
  let child;
  try {
    child = spawn(argv[0], argv.slice(1), { cwd, env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
  } catch (error) {
    send(SPAWN_ERROR, id, json({ code: error.code ?? "", message: error.message }));
    return;
  }
  child.stdin.on("error", () => {});
  child.stdout.on("error", () => {});
  child.stderr.on("error", () => {});
  if (child.pid === undefined) {
    child.once("error", (error) => send(SPAWN_ERROR, id, json({ code: error.code ?? "", message: error.message })));
    return;
  }
  child.on("error", () => {});
  const job = { child, status: undefined };
  jobs.set(id, job);
  send(SPAWNED, id, Buffer.from(String(child.pid)));
  child.stdin.end(stdin);
  child.stdout.on("data", (chunk) => send(STDOUT, id, chunk));
  child.stderr.on("data", (chunk) => send(STDERR, id, chunk));
  child.on("exit", (code, signal) => {
    job.status = json({ code, signal });
    send(EXIT, id, job.status);
  });
  child.on("close", (code, signal) => {
    jobs.delete(id);
    send(CLOSED, id, job.status ?? json({ code, signal }));
  });
}

function handle(request) {
  if (request.op === "spawn") return start(request);
  const job = jobs.get(request.id);
  if (!job) return;
  if (request.op === "kill") {
    try {
      process.kill(-job.child.pid, request.signal);
    } catch {
      // ESRCH: the group is gone already.
    }
  } else if (request.op === "close") {
    job.child.stdout.destroy();
    job.child.stderr.destroy();
  }
}

function signalGroups(leaders, signal) {
  for (const child of leaders) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // ESRCH: the group is gone already.
    }
  }
}

function groupExists(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The groups (given by their leader, the job) whose job is not reaped yet or
 * that still have a live member. An orphaned member's zombie does not count:
 * init may reap it late, or never (a container's plain PID 1), and a zombie
 * writes nothing.
 */
function liveGroups(leaders) {
  const unreaped = (child) => child.exitCode === null && child.signalCode === null;
  if (process.platform !== "linux") return leaders.filter((child) => unreaped(child) || groupExists(child.pid));
  const wanted = new Set(leaders.map((child) => child.pid));
  const live = new Set();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue; // exited meanwhile
    }
    // After "(comm)": state, ppid, pgrp, ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ", 3);
    if (state !== "Z" && wanted.has(Number(pgrp))) live.add(Number(pgrp));
  }
  return leaders.filter((child) => unreaped(child) || live.has(child.pid));
}

/**
 * Waits up to `ms` for the groups to be gone; resolves to those still alive.
 * Polls: Node reaps our children itself, and members other than the job are
 * not our children. Their output is still read (and dropped by send), so none
 * blocks on a full pipe.
 */
async function waitGroups(leaders, ms) {
  const until = Date.now() + ms;
  for (;;) {
    leaders = liveGroups(leaders);
    if (leaders.length === 0 || Date.now() >= until) return leaders;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * At stdin EOF, or stdout broken (the parent is gone): ends the jobs still
 * running, for the reason the module comment gives, then exits.
 */
async function end() {
  if (ending) return;
  const leaders = [...jobs.values()].map((job) => job.child);
  if (leaders.length === 0) {
    flush();
    process.exit(0);
  }
  ending = true;
  queued = []; // nobody reads them
  signalGroups(leaders, "SIGTERM");
  const survivors = await waitGroups(leaders, TERM_GRACE_MS);
  if (survivors.length > 0) {
    signalGroups(survivors, "SIGKILL");
    await waitGroups(survivors, KILL_WAIT_MS); // until reaped: exiting first would leave zombies behind
  }
  process.exit(0);
}

process.on("SIGINT", () => {});
// Broken when the parent died; its stdin EOF may not have been read yet.
process.stdout.on("error", () => void end());
let pending = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (text) => {
  if (ending) return;
  const lines = (pending + text).split("\n");
  pending = lines.pop();
  for (const line of lines) handle(JSON.parse(line));
});
process.stdin.on("end", () => void end());
send(READY, 0);
