#!/usr/bin/env bash
# Job "summary": summary/month=YYYY-MM is the sum of the squares of the first
# seven days of the month (days 01..07, to keep the example small). A fan-in:
# one run reads seven squares partitions. Written to
# data/summary/month=YYYY-MM.txt as "month=YYYY-MM days=01..07 sum_of_squares=N".
#
#   summary.sh config REF...   print a JobConfigureResponse for the refs
#   summary.sh exec MONTH      produce one partition; MONTH comes from config.args
set -euo pipefail

DAYS="01 02 03 04 05 06 07"

fail() {
  echo "summary: $*" >&2
  exit 1
}

config() {
  local ref month day item json="" sep="" isep
  for ref in "$@"; do
    month=${ref#summary/month=}
    [[ $ref == summary/month=* && $month =~ ^[0-9]{4}-(0[1-9]|1[0-2])$ ]] ||
      fail "cannot configure $ref: expected summary/month=YYYY-MM"
    printf -v item '%s\n  {"outputs": [{"str": "%s"}], "args": ["%s"], "inputs": [' "$sep" "$ref" "$month"
    json+=$item
    isep=""
    for day in $DAYS; do
      # depType omitted means MATERIALIZE: each day's squares are built first.
      printf -v item '%s{"partitionRef": {"str": "squares/date=%s-%s"}}' "$isep" "$month" "$day"
      json+=$item
      isep=", "
    done
    json+="]}"
    sep=","
  done
  # Print only once every ref is valid, so a failure never leaves half a response.
  printf '{"configs": [%s\n]}\n' "$json"
}

run() {
  [[ $# -eq 1 ]] || fail "exec expects one argument (the month), got $#"
  local month=$1 day total=0 value input out tmp
  for day in $DAYS; do
    input="data/squares/date=$month-$day.txt"
    [[ -f $input ]] || fail "input $input is missing"
    while read -r value; do
      total=$((total + value))
    done <"$input"
  done
  out="data/summary/month=$month.txt"
  mkdir -p "$(dirname "$out")"
  tmp=$(mktemp "$out.tmp.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  echo "month=$month days=01..07 sum_of_squares=$total" >"$tmp"
  mv -f "$tmp" "$out"
  trap - EXIT
  echo "summary: wrote $out (sum of squares $total)"
}

mode=${1:-}
shift || true
case $mode in
  config) config "$@" ;;
  exec) run "$@" ;;
  *) fail "usage: summary.sh config REF... | summary.sh exec MONTH" ;;
esac
