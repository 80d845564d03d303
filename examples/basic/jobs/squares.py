#!/usr/bin/env python3
"""Job "squares": squares/date=YYYY-MM-DD holds the square of each number in
numbers/date=YYYY-MM-DD, one per line, in data/squares/date=YYYY-MM-DD.txt.

    squares.py config REF...   print a JobConfigureResponse for the refs
    squares.py exec            produce the partitions of the JobConfig on stdin

Each run reads numbers/date=D (MATERIALIZE: built first) and squares/date=D-1
(QUERY: read if present, never built). The QUERY input only feeds a log line
about the day-over-day change: a QUERY input does not order runs, so the
output must not depend on it. Standard library only.
"""
import datetime
import json
import os
import re
import sys
import tempfile

REF = re.compile(r"^squares/date=(\d{4}-\d{2}-\d{2})$")


def fail(message):
    print(f"squares: {message}", file=sys.stderr)
    sys.exit(1)


def path_of(ref):
    """Where a partition lives: data/<ref>.txt, relative to the graph's directory."""
    return os.path.join("data", ref + ".txt")


def config(refs):
    configs = []
    for ref in refs:
        match = REF.match(ref)
        if not match:
            fail(f"cannot configure {ref}: expected squares/date=YYYY-MM-DD")
        try:
            day = datetime.date.fromisoformat(match.group(1))
        except ValueError as error:
            fail(f"cannot configure {ref}: {error}")
        previous = day - datetime.timedelta(days=1)
        configs.append(
            {
                "outputs": [{"str": ref}],
                "inputs": [
                    {"depType": "MATERIALIZE", "partitionRef": {"str": f"numbers/date={day}"}},
                    {"depType": "QUERY", "partitionRef": {"str": f"squares/date={previous}"}},
                ],
            }
        )
    json.dump({"configs": configs}, sys.stdout)
    sys.stdout.write("\n")


def read_numbers(path):
    with open(path, encoding="utf-8") as f:
        return [int(line) for line in f if line.strip()]


def write_atomically(path, lines):
    """Write beside the target and rename, so a killed job never leaves a partial partition."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=os.path.basename(path) + ".tmp.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(f"{line}\n" for line in lines)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def execute():
    job_config = json.load(sys.stdin)
    # Proto3 JSON omits empty lists and default values: no "inputs" means none,
    # no "depType" means MATERIALIZE.
    inputs = job_config.get("inputs", [])
    materialize = [i["partitionRef"]["str"] for i in inputs if i.get("depType", "MATERIALIZE") == "MATERIALIZE"]
    query = [i["partitionRef"]["str"] for i in inputs if i.get("depType") == "QUERY"]
    outputs = [o["str"] for o in job_config.get("outputs", [])]
    if len(outputs) != 1 or len(materialize) != 1:
        fail(f"expected one output and one MATERIALIZE input, got {outputs} and {materialize}")
    run_id = os.environ.get("DATABUILD_JOB_RUN_ID", "manual")
    print(f"squares: job run {run_id} producing {outputs[0]} from {materialize[0]}")

    squares = [n * n for n in read_numbers(path_of(materialize[0]))]
    write_atomically(path_of(outputs[0]), squares)
    total = sum(squares)
    print(f"squares: wrote {path_of(outputs[0])} (sum {total})")

    for ref in query:
        if os.path.exists(path_of(ref)):
            before = sum(read_numbers(path_of(ref)))
            print(f"squares: {ref} is present; change since then: {total - before:+d}")
        else:
            print(f"squares: {ref} is not built; no day-over-day change to report")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "config":
        config(sys.argv[2:])
    elif len(sys.argv) == 2 and sys.argv[1] == "exec":
        execute()
    else:
        fail("usage: squares.py config REF... | squares.py exec  (JobConfig JSON on stdin)")


if __name__ == "__main__":
    main()
