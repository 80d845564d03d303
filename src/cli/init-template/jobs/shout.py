"""shout: a command job (the job protocol, docs/job-protocol.md).

databuild runs `python3 jobs/shout.py IN OUT` (the args the job's config
returned) in the graph's directory, with this run's JobConfig as JSON on
stdin. What it prints is its log (`databuild logs`); exit 0 means OUT is
written completely.
"""

import json
import os
import sys

config = json.load(sys.stdin)
source, target = sys.argv[1], sys.argv[2]
with open(source, encoding="utf-8") as f:
    text = f.read()
os.makedirs(os.path.dirname(target), exist_ok=True)
# Write a temporary file, then rename it: readers never see half a partition.
with open(f"{target}.tmp", "w", encoding="utf-8") as f:
    f.write(text.upper())
os.replace(f"{target}.tmp", target)
print(f"{config['outputs'][0]['str']}: wrote {target}")
