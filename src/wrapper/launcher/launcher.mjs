/**
 * @module databuild job launcher (Node): spawns job processes for a large parent that should not fork per job.
 *
 * Started once per ProcessJobRunner by launcher-client.ts, which documents the
 * protocol; launcher.py speaks the same one. A small Node process forks far
 * faster than databuild's big one (fork copies the page tables). Plain
 * JavaScript with no imports beyond node:, so that it runs from src/ and next
 * to the dist/ bundle alike. Exits when its stdin reaches EOF.
 */
import { spawn } from "node:child_process";

const [READY, SPAWNED, SPAWN_ERROR, STDOUT, STDERR, EXIT, CLOSED] = [0, 1, 2, 3, 4, 5, 6];
/** id -> { child, status } */
const jobs = new Map();
let queued = [];
let scheduled = false;

function send(kind, id, payload = Buffer.alloc(0)) {
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

process.on("SIGINT", () => {});
process.stdout.on("error", () => process.exit(0));
let pending = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (text) => {
  const lines = (pending + text).split("\n");
  pending = lines.pop();
  for (const line of lines) handle(JSON.parse(line));
});
process.stdin.on("end", () => {
  flush();
  process.exit(0);
});
send(READY, 0);
