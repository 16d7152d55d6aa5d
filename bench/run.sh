#!/usr/bin/env bash
# Runs the micro benchmarks (make bench); with MAMORI_BENCH_HTTP=1 also the
# HTTP load bench against nginx (bench/http.sh, or make bench-http).
set -euo pipefail
BUILD=${1:-build}
"$BUILD/bench/engine_bench" --benchmark_min_time=1
# What a durable row costs the whole process (login results' activity and profile rows).
"$BUILD/bench/store_bench" --benchmark_min_time=1
# normalize_account, called once a request: ASCII and non-ASCII names.
"$BUILD/bench/account_bench" --benchmark_min_time=1
"$BUILD/bench/hot_state_memory" 1000000 1024
# Takeover detections on a benign month with attacks mixed in: false alarms and catch rate.
"$BUILD/bench/takeover_replay" 10000 30 1000 2>/dev/null
if [ "${MAMORI_BENCH_HTTP:-0}" = 1 ]; then
  "$(dirname "$0")/http.sh" "$BUILD"
fi
