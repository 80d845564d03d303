#!/usr/bin/env bash
# Job "numbers": numbers/date=YYYY-MM-DD holds the numbers 1..D, one per line,
# where D is the day of the month. Written to data/numbers/date=YYYY-MM-DD.txt.
#
#   numbers.sh config REF...   print a JobConfigureResponse for the refs
#   numbers.sh exec DATE       produce one partition; DATE comes from config.args
#
# The exec step takes everything it needs from its arguments, so it never has
# to parse the JobConfig JSON on stdin.
set -euo pipefail

fail() {
  echo "numbers: $*" >&2
  exit 1
}

config() {
  local ref date item json="" sep=""
  for ref in "$@"; do
    date=${ref#numbers/date=}
    [[ $ref == numbers/date=* && $date =~ ^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$ ]] ||
      fail "cannot configure $ref: expected numbers/date=YYYY-MM-DD"
    # Only digits and dashes reach the JSON, so nothing needs escaping.
    printf -v item '%s\n  {"outputs": [{"str": "%s"}], "args": ["%s"]}' "$sep" "$ref" "$date"
    json+=$item
    sep=","
  done
  # Print only once every ref is valid, so a failure never leaves half a response.
  printf '{"configs": [%s\n]}\n' "$json"
}

run() {
  [[ $# -eq 1 ]] || fail "exec expects one argument (the date), got $#"
  local date=$1 day out tmp
  day=$((10#${date:8:2}))
  out="data/numbers/date=$date.txt"
  mkdir -p "$(dirname "$out")"
  # Write beside the target and rename: a killed job never leaves a partial partition.
  tmp=$(mktemp "$out.tmp.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  seq 1 "$day" >"$tmp"
  mv -f "$tmp" "$out"
  trap - EXIT
  echo "numbers: wrote $out ($day numbers) for job run ${DATABUILD_JOB_RUN_ID:-manual}"
}

mode=${1:-}
shift || true
case $mode in
  config) config "$@" ;;
  exec) run "$@" ;;
  *) fail "usage: numbers.sh config REF... | numbers.sh exec DATE" ;;
esac
