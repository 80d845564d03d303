"""databuild job spawner (Python): spawns job processes for a large parent that should not fork per job.

Started once per ProcessJobRunner by spawner-client.ts, which documents the
protocol. In short: JSON requests, one per line, on stdin
({"op": "spawn" | "kill" | "close", ...}); binary frames on stdout, each a
9-byte header (kind u8, job id u32 LE, payload length u32 LE) then the
payload. os.posix_spawn is vfork based, so a spawn costs the same whatever
the parent's size. The spawner exits when its stdin reaches EOF (its parent
closed it or died, even by SIGKILL). Jobs still running then are ended first
(SIGTERM to each process group, up to 2 s of grace, then SIGKILL): nobody is
left to record their result, and another build will take their work over,
which must not race with an orphan still writing its outputs.
"""

import errno
import json
import os
import selectors
import signal
import struct
import sys
import time

READY, SPAWNED, SPAWN_ERROR, STDOUT, STDERR, EXIT, CLOSED = range(7)
HEADER = struct.Struct("<BII")
READ_SIZE = 65536
# How long jobs ended at stdin EOF get between SIGTERM and SIGKILL, and then to be gone after SIGKILL.
TERM_GRACE = 2.0
KILL_WAIT = 1.0
# Signals a job must not inherit as ignored: Python ignores SIGPIPE and SIGXFSZ, the spawner SIGINT.
SIGDEF = tuple(s for s in (signal.SIGPIPE, getattr(signal, "SIGXFSZ", None), signal.SIGINT) if s is not None)

selector = selectors.DefaultSelector()
outbuf = bytearray()
jobs = {}  # id -> Job
by_pid = {}  # pid -> Job


def send(kind, job_id, payload=b""):
    outbuf.extend(HEADER.pack(kind, job_id, len(payload)))
    outbuf.extend(payload)


def flush():
    if not outbuf:
        return
    view = memoryview(bytes(outbuf))
    outbuf.clear()
    while view:
        view = view[os.write(1, view) :]


class Job:
    __slots__ = ("id", "pid", "open_pipes", "status", "stdin", "stdin_fd")

    def __init__(self, job_id, pid):
        self.id = job_id
        self.pid = pid
        self.open_pipes = []
        self.status = None  # the EXIT payload once reaped
        self.stdin = b""
        self.stdin_fd = -1


def resolve(name, env):
    """The file execvp would run for `name`, searching the job's PATH; raises OSError like execvp."""
    if not name:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory")
    if "/" in name:
        return name
    denied = False
    for folder in env.get("PATH", "/usr/bin:/bin").split(":"):
        candidate = os.path.join(folder or ".", name)
        if os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return candidate
            denied = True
    if denied:
        raise PermissionError(errno.EACCES, "Permission denied")
    raise FileNotFoundError(errno.ENOENT, "No such file or directory")


def spawn(request):
    job_id = request["id"]
    pipes = []
    try:
        env = request["env"]
        os.chdir(request["cwd"])
        path = resolve(request["argv"][0], env)
        in_r, in_w = os.pipe()
        pipes += [in_r, in_w]
        out_r, out_w = os.pipe()
        pipes += [out_r, out_w]
        err_r, err_w = os.pipe()
        pipes += [err_r, err_w]
        actions = [(os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
        pid = os.posix_spawn(path, request["argv"], env, file_actions=actions, setsid=True, setsigdef=SIGDEF)
    except Exception as error:  # noqa: BLE001 -- every failure is the job's launch failure
        for fd in pipes:
            os.close(fd)
        code = errno.errorcode.get(error.errno, "") if isinstance(error, OSError) and error.errno else ""
        message = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        send(SPAWN_ERROR, job_id, json.dumps({"code": code, "message": message}).encode())
        return
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    job = Job(job_id, pid)
    jobs[job_id] = job
    by_pid[pid] = job
    send(SPAWNED, job_id, str(pid).encode())
    for fd, kind in ((out_r, STDOUT), (err_r, STDERR)):
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ, (kind, job))
        job.open_pipes.append(fd)
    os.set_blocking(in_w, False)
    job.stdin_fd = in_w
    job.stdin = request.get("stdin", "").encode()
    write_stdin(job, registered=False)


def write_stdin(job, registered):
    """Writes what the pipe takes now; the rest when it is writable again. EPIPE (job not reading) ends it."""
    try:
        while job.stdin:
            job.stdin = job.stdin[os.write(job.stdin_fd, job.stdin) :]
    except BlockingIOError:
        if not registered:
            selector.register(job.stdin_fd, selectors.EVENT_WRITE, (None, job))
        return
    except OSError:
        pass
    if registered:
        selector.unregister(job.stdin_fd)
    os.close(job.stdin_fd)
    job.stdin_fd = -1
    job.stdin = b""


def close_pipe(job, fd):
    selector.unregister(fd)
    os.close(fd)
    job.open_pipes.remove(fd)
    maybe_closed(job)


def maybe_closed(job):
    if job.open_pipes or job.status is None:
        return
    send(CLOSED, job.id, job.status)
    del jobs[job.id]
    if job.stdin_fd >= 0:
        selector.unregister(job.stdin_fd)
        os.close(job.stdin_fd)
        job.stdin_fd = -1


def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        job = by_pid.pop(pid, None)
        if job is None:
            continue
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = f"SIG{number}"
            job.status = json.dumps({"code": None, "signal": name}).encode()
        else:
            job.status = json.dumps({"code": os.waitstatus_to_exitcode(status), "signal": None}).encode()
        send(EXIT, job.id, job.status)
        maybe_closed(job)


def handle(request):
    op = request["op"]
    if op == "spawn":
        spawn(request)
        return
    job = jobs.get(request["id"])
    if job is None:
        return
    if op == "kill":
        try:
            os.killpg(job.pid, getattr(signal, request["signal"]))
        except OSError:
            pass  # ESRCH: the group is gone already
    elif op == "close":
        for fd in list(job.open_pipes):
            close_pipe(job, fd)


def signal_groups(pgids, signum):
    for pgid in pgids:
        try:
            os.killpg(pgid, signum)
        except OSError:
            pass  # ESRCH: the group is gone already


def live_groups(pgids):
    """The groups whose job is not reaped yet or that still have a live member. An orphaned member's zombie does
    not count: init may reap it late, or never (a container's plain PID 1), and a zombie writes nothing."""
    reap()
    if not sys.platform.startswith("linux"):
        return [pgid for pgid in pgids if pgid in by_pid or group_exists(pgid)]
    wanted = set(pgids)
    live = wanted & by_pid.keys()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as file:
                stat = file.read()
        except OSError:
            continue  # exited meanwhile
        # After "(comm)": state, ppid, pgrp, ...
        state, _ppid, pgrp = stat[stat.rindex(b")") + 2 :].split(b" ", 3)[:3]
        if state != b"Z" and int(pgrp) in wanted:
            live.add(int(pgrp))
    return [pgid for pgid in pgids if pgid in live]


def group_exists(pgid):
    try:
        os.killpg(pgid, 0)
    except OSError:
        return False
    return True


def wait_groups(pgids, seconds):
    """Waits up to `seconds` for the groups to be gone, reading and dropping job output so no job blocks on a
    full pipe; returns the groups still alive. Polls too: members other than the job are not our children."""
    deadline = time.monotonic() + seconds
    while True:
        pgids = live_groups(pgids)
        left = deadline - time.monotonic()
        if not pgids or left <= 0:
            return pgids
        for key, _events in selector.select(min(left, 0.05)):
            kind, job = key.data
            if kind == "wake":
                try:
                    while os.read(key.fd, 4096):
                        pass
                except BlockingIOError:
                    pass
            elif kind in (STDOUT, STDERR) and key.fd in job.open_pipes:
                try:
                    if not os.read(key.fd, READ_SIZE):
                        close_pipe(job, key.fd)
                except BlockingIOError:
                    pass


def end_jobs():
    """At stdin EOF, or stdout broken (the parent is gone): ends the jobs still running, for the reason the module
    docstring gives. Their frames are dropped, nobody reads them."""
    pgids = [job.pid for job in jobs.values()]
    if not pgids:
        return
    if 0 in selector.get_map():
        selector.unregister(0)  # readable for ever at EOF, and no request is taken any more
    for job in jobs.values():
        if job.stdin_fd >= 0:  # still registered, waiting to write
            selector.unregister(job.stdin_fd)
            os.close(job.stdin_fd)
            job.stdin_fd = -1
            job.stdin = b""
    signal_groups(pgids, signal.SIGTERM)
    survivors = wait_groups(pgids, TERM_GRACE)
    if survivors:
        signal_groups(survivors, signal.SIGKILL)
        wait_groups(survivors, KILL_WAIT)  # reaps them: exiting first would leave zombies behind
    outbuf.clear()


def main():
    if sys.version_info < (3, 8) or not hasattr(os, "posix_spawn"):
        sys.exit("databuild spawner: needs Python 3.8+ with os.posix_spawn")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    # A Python-level handler, so that SIGCHLD is delivered (and written to the wakeup fd) at all.
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    selector.register(wake_r, selectors.EVENT_READ, ("wake", None))
    os.set_blocking(0, False)
    selector.register(0, selectors.EVENT_READ, ("requests", None))
    pending = b""
    send(READY, 0)
    flush()
    while True:
        fds = selector.get_map()
        for key, _events in selector.select():
            # An earlier event of this batch may have closed this fd, or even reused its number.
            if fds.get(key.fd) is not key:
                continue
            kind, job = key.data
            if kind == "requests":
                try:
                    data = os.read(0, READ_SIZE)
                except BlockingIOError:
                    continue
                if not data:
                    end_jobs()
                    flush()
                    return
                lines = (pending + data).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    handle(json.loads(line))
            elif kind == "wake":
                try:
                    while os.read(wake_r, 4096):
                        pass
                except BlockingIOError:
                    pass
                reap()
            elif kind is None:
                write_stdin(job, registered=True)
            else:
                try:
                    data = os.read(key.fd, READ_SIZE)
                except BlockingIOError:
                    continue
                if data:
                    send(kind, job.id, data)
                else:
                    close_pipe(job, key.fd)
        # A SIGCHLD may have come while a spawn was in progress, before its wakeup byte was selected.
        reap()
        flush()


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, ConnectionResetError):
        # The parent is gone, its stdin EOF maybe not read yet: the same end as at EOF. (Node's stdio pipes are
        # sockets: a peer gone with frames unread makes the next write fail with ECONNRESET, not EPIPE.)
        outbuf.clear()
        end_jobs()
