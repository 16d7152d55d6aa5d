#!/usr/bin/env bash
# Runs the micro benchmarks (make bench). HTTP load against nginx comes with
# the performance work.
set -euo pipefail
BUILD=${1:-build}
"$BUILD/bench/engine_bench" --benchmark_min_time=1
"$BUILD/bench/hot_state_memory" 1000000 1024
