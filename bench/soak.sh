#!/usr/bin/env bash
# Soak: 30 minutes of mixed HTTP, Dovecot and Postfix load against a real
# mamorid (Release build), kill -9 of the daemon every 2-4 minutes (at random,
# restarted at once on the same data dir), a check after each restart and at
# the end that every write the daemon acknowledged is still there, and RSS
# sampled every 2 s. The load and the checks are bench/soak.py.
#
#   bench/soak.sh [--short] [--minutes N] [--seed N] [BUILD=build-release]
#                                                    (also: make soak)
#
#   --short       3 minutes of load, kills every 30-60 s, an 8 MiB hot-state
#                 budget: to try it out
#   --minutes N   N minutes of load (verification pauses are not counted)
#   --seed N      make the random choices of an earlier run (printed in its
#                 summary): accounts, addresses, kill intervals; timing differs
#
# Environment (defaults in brackets; flags win):
#   SOAK_MINUTES [30]          minutes of load
#   SOAK_KILL_MIN_S [120]      seconds of load between two kills, at least ...
#   SOAK_KILL_MAX_S [240]      ... and at most
#   SOAK_PROCS [2]             load processes
#   SOAK_THREADS [6]           load threads in each
#   SOAK_HOT_MB [16; 8 short]  mamorid's state.memory_budget_mb (small, so it is cycled)
#   SOAK_RSS_GROWTH_MB [64]    how much the RSS peak may grow from the run's first third to its last
#   SOAK_KEEP [0]              1: keep the data dir and the journal after a passing run
#
# BUILD is configured as a Release build if it is not configured yet, and
# mamorid (re)built in it.
# The data dir, the daemon's logs (one per lifetime), the journal of
# acknowledged writes, the RSS samples and the summary go to a temporary
# dir, printed at the start. The exit status is non-zero if an acknowledged
# write was lost, a failure count did not survive a kill (the canary), the
# daemon died other than by the kills (its final SIGTERM included), or RSS
# grew past the bound. mamorid is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${SOAK_MINUTES:-30}
KILL_MIN=${SOAK_KILL_MIN_S:-120}
KILL_MAX=${SOAK_KILL_MAX_S:-240}
HOT_MB=${SOAK_HOT_MB:-16}
SEED=()
BUILD=build-release
while [ $# -gt 0 ]; do
  case "$1" in
    --short) MINUTES=3 KILL_MIN=30 KILL_MAX=60 HOT_MB=${SOAK_HOT_MB:-8} ;;
    --minutes) MINUTES=$2; shift ;;
    --seed) SEED=(--seed "$2"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "soak: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) BUILD=$1 ;;
  esac
  shift
done

scripts/deps.sh
[ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target mamorid >/dev/null
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
[ "$BUILD_TYPE" = Release ] || echo "soak: warning: $BUILD is a '${BUILD_TYPE:-unknown}' build, not Release" >&2

WORK=$(mktemp -d /tmp/mamori-soak-XXXXXX)
echo "soak: work dir $WORK (data dir, logs, journal, rss.tsv, summary.txt)"
PY_PID=
cleanup() {
  local rc=$? pid
  if [ -n "$PY_PID" ] && kill -0 "$PY_PID" 2>/dev/null; then
    kill -TERM "$PY_PID" 2>/dev/null || true
    wait "$PY_PID" 2>/dev/null || true
  fi
  # The daemon, by the PID soak.py wrote, if it is still ours and running.
  if [ -f "$WORK/mamorid.pid" ]; then
    pid=$(cat "$WORK/mamorid.pid")
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$WORK/mamori.toml"; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 300); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  if [ "$rc" = 0 ] && [ "${SOAK_KEEP:-0}" != 1 ]; then
    rm -rf "$WORK/data" "$WORK/journal"
    echo "soak: passed; kept the logs and the summary in $WORK"
  else
    echo "soak: everything is kept in $WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

/usr/bin/python3 bench/soak.py --mamorid "$BUILD/mamorid" --work "$WORK" --source-dir "$PWD" \
  --minutes "$MINUTES" --kill-min "$KILL_MIN" --kill-max "$KILL_MAX" \
  --procs "${SOAK_PROCS:-2}" --threads "${SOAK_THREADS:-6}" --hot-mb "$HOT_MB" \
  --rss-growth-mb "${SOAK_RSS_GROWTH_MB:-64}" "${SEED[@]}" &
PY_PID=$!
wait "$PY_PID"
