#!/usr/bin/env bash
# Runs every libFuzzer target of a MAMORI_FUZZ build for a bounded time and
# prints executions, executions per second and findings per target.
#   fuzz/run.sh [BUILD]     BUILD defaults to build-fuzz (make fuzz builds it)
# Environment:
#   FUZZ_SECONDS   time per target (default 60)
#   FUZZ_TARGETS   the targets to run, space-separated (default: all)
#   FUZZ_ARGS      more libFuzzer flags, e.g. "-runs=10000000"
# Each target grows its work corpus in BUILD/fuzz/corpus/NAME, seeded from
# fuzz/corpus/NAME (which stays as committed); a crash or a broken check
# leaves its input in BUILD/fuzz/artifacts/NAME/ and the log in
# BUILD/fuzz/logs/NAME.log. Exits 1 when any target found something.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
all="http_request json_body dovecot_policy postfix_policy config pwned_line user_agent ip_address account_name activity_codec"
targets=${FUZZ_TARGETS:-$all}

dict_of() {
  case "$1" in
    http_request) echo http.dict ;;
    json_body | dovecot_policy) echo json.dict ;;
    postfix_policy) echo postfix.dict ;;
    config) echo toml.dict ;;
  esac
}

mkdir -p "$build/fuzz/logs"
failed=0
printf '%-16s %12s %10s %8s %s\n' target executions exec/s corpus result
for t in $targets; do
  exe="$build/fuzz/${t}_fuzzer"
  if [ ! -x "$exe" ]; then
    echo "fuzz: $exe is missing (make fuzz builds it)" >&2
    exit 2
  fi
  work="$build/fuzz/corpus/$t"
  artifacts="$build/fuzz/artifacts/$t"
  log="$build/fuzz/logs/$t.log"
  mkdir -p "$work" "$artifacts"
  started="$build/fuzz/logs/$t.started"
  touch "$started"
  args=(-max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1
        -artifact_prefix="$artifacts/")
  dict=$(dict_of "$t")
  [ -n "$dict" ] && args+=(-dict="$root/fuzz/$dict")
  # The targets on a World keep state from input to input, so nearly every
  # input allocates more than it frees and libFuzzer would run a full leak
  # check after each one (most of the time spent). Leaks are still checked
  # when the run ends, after the last World is freed.
  case "$t" in
    http_request | json_body | dovecot_policy | postfix_policy) args+=(-detect_leaks=0) ;;
  esac
  # shellcheck disable=SC2086
  "$exe" "${args[@]}" ${FUZZ_ARGS:-} "$work" "$root/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  units=$(find "$work" -type f | wc -l)
  result=ok
  if [ $rc -ne 0 ]; then
    found=$(find "$artifacts" -type f -newer "$started" | head -3 | tr '\n' ' ')
    result="FOUND (exit $rc): ${found}see $log"
    failed=1
  fi
  printf '%-16s %12s %10s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "$units" "$result"
done
exit $failed
