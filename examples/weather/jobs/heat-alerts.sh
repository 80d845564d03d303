#!/usr/bin/env bash
# heat_alerts exec: lists the cities whose daily maximum passed 21 °C.
# Args (from the config): the daily_stats file to read, the file to write.
set -euo pipefail
stats=$1 out=$2
mkdir -p "$(dirname "$out")"
# daily_stats is pretty-printed JSON: `"city": {` lines, then `"max": N,` lines.
awk -F'[":, ]+' '/": \{/ { city = $2 } /"max"/ { if ($3 + 0 > 21) print city }' "$stats" > "$out.tmp"
mv "$out.tmp" "$out"
echo "heat alerts for $(basename "$out"): $(wc -l < "$out") cities"
