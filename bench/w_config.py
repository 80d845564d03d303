#!/usr/bin/env python3
"""Config program of workload W's manifest form (job protocol, SPEC 3.2).

Usage: w_config.py JOB N REF...
Prints a JobConfigureResponse (proto3 JSON) with one config per REF:
  {"configs": [{"outputs": [{"str": "clean/5"}],
                "inputs": [{"partitionRef": {"str": "raw/5"}}], "args": ["clean/5"]}]}
The exec command (`touch`) gets the args appended, so it touches the output.
bench/analyze-bench.ts copies this file next to the generated databuild.yaml.
Stdlib only; a ref outside W (wrong job, non-numeric or out-of-range index)
exits 1 with a message on stderr.
"""
import json
import sys


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: w_config.py JOB N REF...")
    job, n = argv[1], int(argv[2])
    months = (n + 29) // 30
    configs = []
    for ref in argv[3:]:
        prefix, _, value = ref.partition("/")
        limit = months if job == "report" else n
        if prefix != job or not value.isdigit() or int(value) >= limit:
            sys.exit(f"w_config.py: job {job}: {ref} is not in workload W with N={n}")
        k = int(value)
        if job == "raw":
            inputs = []
        elif job == "clean":
            inputs = [f"raw/{k}"]
        elif job == "agg":
            inputs = [f"clean/{j}" for j in range(max(0, k - 6), k + 1)]
        else:
            inputs = [f"agg/{i}" for i in range(30 * k, min(30 * k + 30, n))]
        configs.append({
            "outputs": [{"str": ref}],
            "inputs": [{"partitionRef": {"str": r}} for r in inputs],
            "args": [ref],
        })
    # json.dumps uses the C encoder; json.dump to a stream iterates in Python (several times slower).
    sys.stdout.write(json.dumps({"configs": configs}, separators=(",", ":")))


if __name__ == "__main__":
    main(sys.argv)
